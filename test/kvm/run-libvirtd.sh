#!/usr/bin/env bash
# Runs a private virtlogd + libvirtd for one KVM test slot. Called by test/harness/kvm-daemons.ts as
#   ip netns exec <netns> unshare --mount --propagation private test/kvm/run-libvirtd.sh <state-dir>
# so the daemons, their QEMU processes, bridges and dnsmasq live in the slot's network namespace,
# and libvirt's fixed system paths (/etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt,
# /var/cache/libvirt) are bind mounts of <state-dir>/<sub> in a private mount namespace: a system
# libvirtd (if any) and other slots never see each other. Clients use
#   qemu:///system?socket=<state-dir>/run/libvirt-sock
set -euo pipefail
state=$1
for pair in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt log:/var/log/libvirt cache:/var/cache/libvirt; do
  sub=${pair%%:*} dir=${pair#*:}
  mkdir -p "$state/$sub" "$dir"
  mount --bind "$state/$sub" "$dir"
done
virtlogd --daemon --pid-file /run/libvirt/virtlogd.pid
exec libvirtd --pid-file /run/libvirt/libvirtd.pid
