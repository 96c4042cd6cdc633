#!/usr/bin/env bash
# Builds the small bootable Debian image of the KVM tests once, into
# ~/.cache/infra/images/<name>/ (outside the checkout): debootstrap root filesystem with systemd,
# openssh-server, cloud-init (NoCloud only), the cloud kernel and what a kubelet node of the
# `binaries` distribution needs from the system (containerd, runc, iptables, conntrack, socat), made into an ext4 filesystem
# image (mkfs.ext4 -d, no partition table) converted to qcow2, plus the packaged kernel and
# initrd beside it for direct kernel boot (root=/dev/vda). The name carries the suite and a hash
# of this script. Atomic (temp dir + rename) and locked (flock) like test/hosts/build-rootfs.sh.
# Prints the image directory on stdout (the last line): disk.qcow2, vmlinuz, initrd.img.
set -euo pipefail

suite=bookworm
mirror="${INFRA_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# debootstrap installs the base; the kernel and cloud-init (python) are installed after with apt
# in the chroot (debootstrap's own configure pass fails on python3-cryptography).
packages=(
  systemd systemd-sysv dbus udev openssh-server sudo
  ifupdown isc-dhcp-client iproute2 procps kmod util-linux mount e2fsprogs ca-certificates
  containerd runc iptables conntrack socat
)
later=(cloud-init linux-image-cloud-amd64 initramfs-tools)

script_hash=$(sha256sum "$0" | cut -c1-12)
cache="${INFRA_IMAGES_DIR:-$HOME/.cache/infra/images}"
name="debian-${suite}-kvm-${script_hash}"
target="$cache/$name"
mkdir -p "$cache"

if [ -f "$target/.complete" ]; then echo "$target"; exit 0; fi

exec 9>"$cache/.$name.lock"
flock 9
if [ -f "$target/.complete" ]; then echo "$target"; exit 0; fi

tmp="$cache/.$name.tmp-$$"
rm -rf "$tmp"
root="$tmp/root"
# --one-file-system: never follow a mount that is still there into the machine's own files.
cleanup() { umount "$root/proc" 2>/dev/null || true; rm -rf --one-file-system "$tmp"; }
trap cleanup EXIT
mkdir -p "$tmp"
started=$(date +%s)
echo "building $name with debootstrap from $mirror (a few minutes)" >&2
include=$(IFS=,; echo "${packages[*]}")
debootstrap --variant=minbase --include="$include" "$suite" "$root" "$mirror" >&2
mount -t proc proc "$root/proc"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${later[@]}" >&2
rm -f "$root/usr/sbin/policy-rc.d"
umount "$root/proc"

# Identity comes from cloud-init at first boot; the image carries none.
rm -f "$root"/etc/ssh/ssh_host_*
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
echo 'localhost' > "$root/etc/hostname"
echo '/dev/vda / ext4 defaults,errors=remount-ro 0 1' > "$root/etc/fstab"
# NoCloud only: no waiting on metadata services that cannot exist here.
cat > "$root/etc/cloud/cloud.cfg.d/90-infra.cfg" <<'CFG'
datasource_list: [NoCloud, None]
# The root filesystem is the whole disk (no partition table): grow the filesystem, not a partition.
growpart: {mode: 'off'}
resize_rootfs: true
CFG
# Network from cloud-init (ENI renderer); the image's own config brings up only lo.
printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' > "$root/etc/network/interfaces"
# Services a tiny VM does not need, and that cost boot time under software emulation.
chroot "$root" systemctl mask systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer getty@tty1.service >/dev/null 2>&1 || true
# containerd starts when a cluster puts a node there (the distribution enables it), not at every boot.
chroot "$root" systemctl disable containerd.service >/dev/null 2>&1
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
kernel=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)
initrd=$(ls "$root"/boot/initrd.img-* | sort -V | tail -1)
cp "$kernel" "$tmp/vmlinuz"
cp "$initrd" "$tmp/initrd.img"
printf '%s\n' "$suite" "${packages[@]}" "${later[@]}" > "$root/.packages"
# 2 GiB filesystem (sparse); a VM's disk may be larger, cloud-init's resize_rootfs grows it.
truncate -s 2G "$tmp/root.ext4"
mkfs.ext4 -q -L root -d "$root" "$tmp/root.ext4"
qemu-img convert -f raw -O qcow2 "$tmp/root.ext4" "$tmp/disk.qcow2"
rm -rf "$root" "$tmp/root.ext4"
printf 'root=/dev/vda rw console=ttyS0\n' > "$tmp/cmdline"
date -u +%Y-%m-%dT%H:%M:%SZ > "$tmp/.complete"
mv "$tmp" "$target"
trap - EXIT
echo "built $name in $(( $(date +%s) - started ))s" >&2
echo "$target"
