#!/bin/sh
# keel VM guest init (PID 1, busybox ash), written for `cargo xtask vm` (xtask/src/vm/).
#
# 1. mounts the API filesystems and cgroup2 alone on /sys/fs/cgroup (no v1 hierarchy),
# 2. insmods the modules listed in /etc/keel-vm/modules (in dependency order),
# 3. mounts the 9p share "share" on /share and runs /share/scenario.sh under bash,
#    its output going to the console and /share/scenario.log,
# 4. writes the exit status to /share/rc, prints the markers the host parses, powers off.
#
# Markers on the console: "@@KEEL-VM INIT uptime=S", "@@KEEL-VM START uptime=S",
# "@@KEEL-VM RC=N uptime=S". Busybox applets are fine here; scenarios run under bash
# because Debian's busybox prefers its applets over real tools inside `busybox sh`.
export PATH=/usr/sbin:/usr/bin HOME=/root TERM=dumb KEEL_VM=1
uptime() { read -r up _ < /proc/uptime; echo "$up"; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mkdir -p /run/cryptsetup /run/lock
echo "@@KEEL-VM INIT uptime=$(uptime)"

t0=$(uptime)
n=0
failed=0
while read -r ko; do
    n=$((n + 1))
    if ! out=$(insmod "$ko" 2>&1); then
        failed=$((failed + 1))
        echo "keel-vm: insmod $ko failed: $out"
    fi
done < /etc/keel-vm/modules
echo "keel-vm: $n modules loaded in $(awk -v a="$t0" '{printf "%.2f", $1 - a}' /proc/uptime)s, $failed failed"
ip link set lo up
hostname keel-vm

rc=125
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share /share; then
    cd /tmp
    echo "@@KEEL-VM START uptime=$(uptime)"
    set -o pipefail
    bash /share/scenario.sh 2>&1 < /dev/null | tee /share/scenario.log
    rc=$?
    set +o pipefail
    echo "$rc" > /share/rc
    cd /
else
    echo "keel-vm: cannot mount the 9p results share"
fi
echo "@@KEEL-VM RC=$rc uptime=$(uptime)"
sync
umount /share 2>/dev/null
poweroff -f
