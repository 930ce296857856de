#!/bin/bash
# keel-oomd on pure cgroup2 (issue 5).
# /dev/vda becomes swap first: 248's pressure rule also needs reclaim activity (pgscan),
# and without swap a hog's anonymous memory is never scanned.
# 1. Memory pressure: a memory hog throttled by memory.high stalls; keel-oomd, watching the
#    parent with a 5% limit for 2 s, kills the hog's cgroup, its JSON record explains why,
#    and an idle bystander survives. Root in the VM holds CAP_SYS_RESOURCE, so the 1 s
#    trigger window is accepted.
# 2. The same with --kill-process: only the hog process dies, a small process in its
#    cgroup survives.
# 3. Swap: a hog under memory.max=32M swaps out; keel-oomd with SwapUsedLimit=10% kills
#    the cgroup using the most swap and spares the bystander.
# Logs and decision records are kept in /share (target/vm/runs/oomd/share on the host).
# vm: disk=256M timeout=300 mem=1024M
set -euo pipefail
trap 'echo "FAILED: line $LINENO: $BASH_COMMAND (status $?)"; cat /share/oomd*.err 2>/dev/null || true' ERR
test -e /proc/pressure/memory
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
mkswap /dev/vda > /dev/null
swapon /dev/vda
grep -E '^Swap(Total|Free)' /proc/meminfo
hog() { # CGROUP: 96 MiB in a bash variable, at most 90 s; its pid in /tmp/hog.pid
    timeout 90 bash -c "echo \$\$ > $1/cgroup.procs; echo \$\$ > /tmp/hog.pid; x=\$(head -c 100663296 /dev/zero | tr '\\0' a); sleep 300"
}

wait_for() { # FILE PATTERN: up to 10 s
    for _ in $(seq 100); do grep -q "$2" "$1" && return 0; sleep 0.1; done
    echo "no \"$2\" in $1"; cat "$1"; return 1
}

# --- 1. memory pressure -------------------------------------------------------------------
w=/sys/fs/cgroup/work
mkdir "$w"
echo +memory > "$w/cgroup.subtree_control"
mkdir "$w/hog" "$w/idle"
echo 48M > "$w/hog/memory.high"
sleep 600 &
idle=$!
echo "$idle" > "$w/idle/cgroup.procs"
keel-oomd --no-manager --config /nonexistent --watch /work:limit=5%:duration=2s \
    --log /share/pressure.jsonl 2> /share/oomd-pressure.err &
oomd=$!
wait_for /share/oomd-pressure.err 'PSI trigger "full 50000 1000000" armed'
echo "keel-oomd armed"
start=$(date +%s)
rc=0
hog "$w/hog" || rc=$?
echo "hog exit status $rc after $(( $(date +%s) - start )) s"
cat "$w/memory.pressure"
test "$rc" -eq 137
kill -0 "$idle"
# The record is written once the cgroup is confirmed empty, after the hog's death.
wait_for /share/pressure.jsonl '"killed":true'
kill "$oomd"
cat /share/oomd-pressure.err
rec=$(grep '"killed":true' /share/pressure.jsonl)
echo "$rec" | grep -q '"kind":"memory_pressure","cgroup":"/work"'
echo "$rec" | grep -q '"order":\["/work/hog"'
echo "$rec" | grep -q '"kills":\[{"cgroup":"/work/hog"'
grep -q '"emptied":true' <<< "$rec"
elapsed=$(grep -o '"duration_elapsed_at":[0-9]*' <<< "$rec" | cut -d: -f2)
started=$(grep -o '"started_at":[0-9]*' <<< "$rec" | cut -d: -f2)
done_at=$(grep -o '"finished_at":[0-9]*' <<< "$rec" | cut -d: -f2)
# Under TCG the kernel needs ~100 ms to tear down the hog; the decision itself must be quick.
echo "after the duration elapsed: kill started $(( (started - elapsed) / 1000 )) ms," \
    "cgroup empty $(( (done_at - elapsed) / 1000 )) ms"
test $(( started - elapsed )) -lt 100000
kill "$idle"
wait "$idle" 2>/dev/null || true
rmdir "$w/hog" "$w/idle" "$w"
echo "oomd memory pressure: ok"

# --- 2. process-granular mode (beyond 248) -------------------------------------------------
# The same pressure, but --kill-process: only the worst process of the chosen cgroup (the
# hog) is killed; a small process in the same cgroup survives.
p=/sys/fs/cgroup/procwork
mkdir "$p"
echo +memory > "$p/cgroup.subtree_control"
mkdir "$p/app"
echo 48M > "$p/app/memory.high"
sleep 600 &
mate=$!
echo "$mate" > "$p/app/cgroup.procs"
keel-oomd --no-manager --config /nonexistent --kill-process \
    --watch /procwork:limit=5%:duration=2s \
    --log /share/process.jsonl 2> /share/oomd-process.err &
oomd=$!
wait_for /share/oomd-process.err 'PSI trigger "full 50000 1000000" armed'
rc=0
hog "$p/app" || rc=$?
echo "process-mode hog exit status $rc"
test "$rc" -eq 137
wait_for /share/process.jsonl '"killed":true'
kill -0 "$mate"
kill "$oomd"
cat /share/oomd-process.err
rec=$(grep '"killed":true' /share/process.jsonl)
grep -q "\"chosen\":$(cat /tmp/hog.pid)[,}]" <<< "$rec"
grep -q '"kills":\[{"cgroup":"/procwork/app"' <<< "$rec"
grep -q "killed process $(cat /tmp/hog.pid) (bash) of /procwork/app" /share/oomd-process.err
kill "$mate"
wait "$mate" 2>/dev/null || true
rmdir "$p/app" "$p"
echo "oomd process mode: ok"

# --- 3. swap ------------------------------------------------------------------------------
s=/sys/fs/cgroup/swapwork
mkdir "$s"
echo +memory > "$s/cgroup.subtree_control"
mkdir "$s/hog" "$s/idle"
echo 32M > "$s/hog/memory.max"
sleep 600 &
idle=$!
echo "$idle" > "$s/idle/cgroup.procs"
printf '[OOM]\nSwapUsedLimit=10%%\n' > /tmp/oomd.conf
keel-oomd --no-manager --config /tmp/oomd.conf --watch /swapwork:swap=kill \
    --log /share/swap.jsonl 2> /share/oomd-swap.err &
oomd=$!
wait_for /share/oomd-swap.err 'watching /swapwork: memory pressure auto, swap kill'
rc=0
hog "$s/hog" || rc=$?
echo "swap hog exit status $rc"
grep -E '^Swap(Total|Free)' /proc/meminfo
test "$rc" -eq 137
kill -0 "$idle"
wait_for /share/swap.jsonl '"killed":true'
kill "$oomd"
cat /share/oomd-swap.err
rec=$(grep '"killed":true' /share/swap.jsonl)
echo "$rec" | grep -q '"kind":"swap"'
echo "$rec" | grep -q '"order":\["/swapwork/hog"'
kill "$idle"
wait "$idle" 2>/dev/null || true
swapoff /dev/vda
rmdir "$s/hog" "$s/idle" "$s"
echo "oomd swap: ok"
