#!/bin/bash
# cgroup2 is mounted alone (no v1 hierarchy) with the memory controller, and memory.max is
# enforced: a process that grows past it is OOM-killed and memory.events counts it.
# vm: timeout=90
set -euo pipefail
trap 'echo "FAILED: line $LINENO: $BASH_COMMAND (status $?)"' ERR
grep -q "^cgroup2 /sys/fs/cgroup cgroup2 " /proc/mounts
if grep -q " cgroup " /proc/mounts; then
    echo "a cgroup v1 hierarchy is mounted"
    exit 1
fi
grep -qw memory /sys/fs/cgroup/cgroup.controllers
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
cg=/sys/fs/cgroup/keel-mem
mkdir "$cg"
echo 16M > "$cg/memory.max"
test "$(cat "$cg/memory.max")" = 16777216
# A shell in the cgroup keeps 64 MiB in a variable: it must be killed.
rc=0
bash -c "echo \$\$ > $cg/cgroup.procs; x=\$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived \${#x}" || rc=$?
echo "memory hog exit status: $rc"
test "$rc" -ne 0
grep -E "^oom_kill [1-9]" "$cg/memory.events"
test -e /proc/pressure/memory
test -e "$cg/memory.pressure"
rmdir "$cg"
echo "cgroup2 memory: ok"
