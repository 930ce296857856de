#!/bin/bash
# keel-sysext on Debian's 6.1 kernel, which has neither MOVE_MOUNT_BENEATH (6.5) nor
# overlayfs' "lowerdir+" (6.8): the fallbacks keel takes there (legacy overlay options,
# unmount-then-mount refresh) merge, refresh and unmerge directory, squashfs and erofs
# extensions; an incompatible one is refused with its reason; a service started by keel-run
# with ExtensionImages= sees its extension while the rest of the system does not.
# vm: timeout=90
set -euo pipefail
trap 'echo "FAILED: line $LINENO: $BASH_COMMAND (status $?)"' ERR
step() { echo "== $* (uptime $(cut -d" " -f1 /proc/uptime))"; }

R=/mnt/root
mkdir -p "$R"
mount -t tmpfs tmpfs "$R"
mkdir -p "$R"/usr/lib "$R"/etc "$R"/opt "$R"/var/lib/extensions /tmp/ext
printf 'ID=debian\nVERSION_ID=12\n' > "$R"/usr/lib/os-release
echo host > "$R"/usr/lib/host-file

# ext NAME ID: a tree with an extension-release file and a file named after it.
ext() {
    local d=/tmp/ext/$1
    mkdir -p "$d"/usr/lib/extension-release.d "$d"/usr/share
    printf 'ID=%s\nVERSION_ID=12\n' "$2" > "$d/usr/lib/extension-release.d/extension-release.$1"
    echo "$1" > "$d/usr/share/$1-file"
}
ext a debian
ext b debian
ext c debian
ext d debian
ext bad fedora
cp -a /tmp/ext/a "$R"/var/lib/extensions/a
mksquashfs /tmp/ext/b "$R"/var/lib/extensions/b.raw -noappend -quiet >/dev/null
mkfs.erofs --quiet "$R"/var/lib/extensions/c.raw /tmp/ext/c
cp -a /tmp/ext/bad "$R"/var/lib/extensions/bad

step "merge"
keel-sysext --root "$R" merge 2>&1 | tee /tmp/merge.log
grep -q "bad" /tmp/merge.log
grep -qi "fedora\|ID" /tmp/merge.log
for f in a b c; do grep -qx "$f" "$R/usr/share/$f-file"; done
test ! -e "$R"/usr/share/bad-file
grep -qx host "$R"/usr/lib/host-file
keel-sysext --root "$R" status --json=short | tee /tmp/status.json
grep -q '"a"' /tmp/status.json
keel-sysext --root "$R" list

step "refresh: add d, remove a"
rm -rf "$R"/var/lib/extensions/bad
cp -a /tmp/ext/d "$R"/var/lib/extensions/d
rm -rf "$R"/var/lib/extensions/a
keel-sysext --root "$R" refresh 2>&1 | tee /tmp/refresh.log
grep -qi "unmount" /tmp/refresh.log
grep -qx d "$R"/usr/share/d-file
test ! -e "$R"/usr/share/a-file
grep -qx b "$R"/usr/share/b-file

step "unmerge"
keel-sysext --root "$R" unmerge
test ! -e "$R"/usr/share
grep -qx host "$R"/usr/lib/host-file
test -z "$(losetup -a)"

step "ExtensionImages= for one service"
mkdir -p /etc /usr/lib
test -e /etc/os-release || printf 'ID=debian\nVERSION_ID=12\n' > /etc/os-release
keel-run -p ExtensionImages="$R"/var/lib/extensions/b.raw -- /bin/bash -c 'cat /usr/share/b-file' | tee /tmp/svc.out
grep -qx b /tmp/svc.out
test ! -e /usr/share/b-file
echo "sysext: ok"
