#!/bin/bash
# Kernel features the host lacks are present in the VM: batman-adv (a bat0 per network
# namespace, a veth end enslaved), overlayfs, squashfs and erofs mounts of images made here,
# and no TPM when the scenario does not ask for one.
# vm: timeout=60
set -euo pipefail
trap 'echo "FAILED: line $LINENO: $BASH_COMMAND (status $?)"' ERR
step() { echo "== $* (uptime $(cut -d" " -f1 /proc/uptime))"; }

step "batman-adv in network namespaces"
ip netns add n1
ip netns add n2
ip link add v12 netns n1 type veth peer name v21 netns n2
for p in n1:v12 n2:v21; do
    ns=${p%%:*} dev=${p#*:}
    ip -n "$ns" link add bat0 type batadv
    ip -n "$ns" link set "$dev" up
    ip -n "$ns" link set "$dev" master bat0
    ip -n "$ns" link set bat0 up
    ip -n "$ns" -d link show bat0 | grep -q batadv
    ip -n "$ns" link show "$dev" | grep -q "master bat0"
done
test -d /sys/module/batman_adv
ip netns del n1
ip netns del n2

step "overlayfs"
mkdir -p /tmp/ov/{lower,upper,work,merged}
echo lower > /tmp/ov/lower/a
mount -t overlay overlay -o lowerdir=/tmp/ov/lower,upperdir=/tmp/ov/upper,workdir=/tmp/ov/work /tmp/ov/merged
grep -qx lower /tmp/ov/merged/a
echo upper > /tmp/ov/merged/b
grep -qx upper /tmp/ov/upper/b
umount /tmp/ov/merged

mkdir -p /tmp/tree/usr/lib && echo "ID=keel-test" > /tmp/tree/usr/lib/marker

step "squashfs"
mksquashfs /tmp/tree /tmp/img.squashfs -noappend -quiet >/dev/null
mkdir -p /mnt/sq
mount -t squashfs -o loop,ro /tmp/img.squashfs /mnt/sq
grep -qx ID=keel-test /mnt/sq/usr/lib/marker
umount /mnt/sq

step "erofs"
mkfs.erofs --quiet /tmp/img.erofs /tmp/tree
mkdir -p /mnt/ero
mount -t erofs -o loop,ro /tmp/img.erofs /mnt/ero
grep -qx ID=keel-test /mnt/ero/usr/lib/marker
umount /mnt/ero

step "no TPM unless asked"
test ! -e /dev/tpmrm0
echo "kernel features: ok"
