#!/usr/bin/env bash
# Builds the Debian bookworm root filesystem of the SSH test hosts once, with debootstrap, into
# ~/.cache/infra/rootfs/<name> (outside the checkout). The name carries the suite and a hash of
# this script, so a change of the package list builds a new one. Atomic: built in a temp dir
# beside it and renamed; a flock on a lock file keeps two runs from building it twice.
# Prints the path of the root filesystem on stdout (the last line).
set -euo pipefail

suite=bookworm
mirror="${INFRA_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# What a kubelet node needs, plus systemd (PID 1 of the host), sshd and sudo for the SSH layer.
packages=(
  systemd systemd-sysv dbus openssh-server sudo
  containerd runc containernetworking-plugins iproute2 iptables conntrack socat ca-certificates
  procps kmod util-linux mount
)

script_hash=$(sha256sum "$0" | cut -c1-12)
cache="${INFRA_ROOTFS_DIR:-$HOME/.cache/infra/rootfs}"
name="debian-${suite}-testhost-${script_hash}"
target="$cache/$name"
mkdir -p "$cache"

if [ -f "$target/.complete" ]; then echo "$target"; exit 0; fi

exec 9>"$cache/.$name.lock"
flock 9
# Another run may have finished it while this one waited for the lock.
if [ -f "$target/.complete" ]; then echo "$target"; exit 0; fi

tmp="$cache/.$name.tmp-$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
started=$(date +%s)
echo "building $name with debootstrap from $mirror (a few minutes)" >&2
include=$(IFS=,; echo "${packages[*]}")
debootstrap --variant=minbase --include="$include" "$suite" "$tmp" "$mirror" >&2

# Host identity is generated per host by the harness; the image carries none.
rm -f "$tmp"/etc/ssh/ssh_host_*
: > "$tmp/etc/machine-id"
# Services a test host does not need (and that fail without the hardware) stay off.
chroot "$tmp" systemctl mask systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer getty@tty1.service console-getty.service \
  systemd-firstboot.service >/dev/null 2>&1 || true
# The test users: alice may sudo without a password, bob may not sudo at all. Their keys (and
# root's) are per run: the harness writes them to /etc/ssh/authorized_keys/<user> of each host.
chroot "$tmp" useradd --create-home --shell /bin/bash --password '*' alice
chroot "$tmp" useradd --create-home --shell /bin/bash --password '*' bob
echo 'alice ALL=(ALL:ALL) NOPASSWD: ALL' > "$tmp/etc/sudoers.d/alice"
chmod 0440 "$tmp/etc/sudoers.d/alice"
mkdir -p "$tmp/etc/ssh/authorized_keys"
cat > "$tmp/etc/ssh/sshd_config.d/infra-test-host.conf" <<'CONF'
HostKey /etc/ssh/ssh_host_ed25519_key
AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/authorized_keys/%u
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
CONF
# containerd is started by the distribution under test, not at boot.
chroot "$tmp" systemctl disable containerd.service >/dev/null 2>&1 || true
chroot "$tmp" apt-get clean
rm -rf "$tmp"/var/lib/apt/lists/*
printf '%s\n' "$suite" "${packages[@]}" > "$tmp/.packages"
date -u +%Y-%m-%dT%H:%M:%SZ > "$tmp/.complete"
mv "$tmp" "$target"
trap - EXIT
echo "built $name in $(( $(date +%s) - started ))s" >&2
echo "$target"
