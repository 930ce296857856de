#!/bin/bash
# keel-networkd with the link kinds the host kernel lacks (issue 6): vlan, dummy and bond,
# in a fresh network namespace of Debian's kernel. From .netdev/.network files:
# - a dummy with an address and a route; a bond (active-backup) over two dummies;
# - a veth pair whose .network names a VLAN= (a stacked netdev created on the veth end),
#   with an address on the vlan and a peer-side vlan made the same way;
# - `--once` applies everything, a second `--once` does nothing, and the daemon configures
#   a dummy created later (a link that appears);
# - a bad .netdev gives a diagnostic with file:line and the rest still applies;
# - `status --json` and `list` show the kinds.
# Logs are kept in /share (target/vm/runs/networkd/share).
# vm: timeout=120
set -euo pipefail
trap 'echo "FAILED: line $LINENO: $BASH_COMMAND (status $?)"; tail -n 40 /share/networkd-*.log 2>/dev/null || true' ERR
step() { echo "== $* (uptime $(cut -d" " -f1 /proc/uptime))"; }

wait_for() { # SECONDS DESCRIPTION COMMAND...: polls every 0.1 s
    local tries=$(( $1 * 10 )) what=$2
    shift 2
    for _ in $(seq "$tries"); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
    echo "timed out waiting for $what"
    return 1
}

ip netns add nd
ip -n nd link set lo up
run() { ip netns exec nd "$@"; }

step "config"
d=/share/networkd-conf
rm -rf "$d"; mkdir -p "$d"
cat > "$d/10-dummy0.netdev" <<'EOF'
[NetDev]
Name=dummy0
Kind=dummy
MTUBytes=9000
EOF
cat > "$d/10-bond0.netdev" <<'EOF'
[NetDev]
Name=bond0
Kind=bond

[Bond]
Mode=active-backup
EOF
for n in 1 2; do
    cat > "$d/11-slave$n.netdev" <<EOF
[NetDev]
Name=slave$n
Kind=dummy
EOF
done
cat > "$d/12-ve.netdev" <<'EOF'
[NetDev]
Name=ve0
Kind=veth

[Peer]
Name=ve1
EOF
for v in 0 1; do
    cat > "$d/13-ve$v.vlan.netdev" <<EOF
[NetDev]
Name=ve$v.42
Kind=vlan

[VLAN]
Id=42
EOF
done
cat > "$d/14-bad.netdev" <<'EOF'
[NetDev]
Name=badvlan
Kind=vlan

[VLAN]
Id=5000
EOF
cat > "$d/20-dummy0.network" <<'EOF'
[Match]
Name=dummy0

[Network]
Address=192.168.10.1/24

[Route]
Destination=172.16.0.0/12
Gateway=192.168.10.254
EOF
cat > "$d/21-slaves.network" <<'EOF'
[Match]
Name=slave*

[Network]
Bond=bond0
EOF
cat > "$d/22-bond0.network" <<'EOF'
[Match]
Name=bond0

[Network]
Address=10.20.0.1/24
EOF
for v in 0 1; do
    cat > "$d/23-ve$v.network" <<EOF
[Match]
Name=ve$v

[Network]
VLAN=ve$v.42
EOF
    cat > "$d/24-ve$v.42.network" <<EOF
[Match]
Name=ve$v.42
Type=vlan

[Network]
Address=10.42.0.$(( v + 1 ))/24
EOF
done
cat > "$d/25-late.network" <<'EOF'
[Match]
Name=late*
Driver=dummy

[Link]
MTUBytes=1280

[Network]
Address=10.99.0.1/24
EOF

step "apply once"
rc=0
run keel-networkd --config-dir "$d" --once > /share/networkd-once.log 2>&1 || rc=$?
cat /share/networkd-once.log
# The bad vlan id is an error diagnostic (exit 1), naming file and line; the rest applied.
test "$rc" = 1
grep -q "14-bad.netdev:6:" /share/networkd-once.log
if run ip link show badvlan > /dev/null 2>&1; then echo "badvlan was created"; exit 1; fi

run ip -d link show dummy0 | grep -q "mtu 9000"
run ip -d link show dummy0 | grep -q "dummy"
run ip -4 addr show dev dummy0 | grep -q "inet 192.168.10.1/24"
run ip route show 172.16.0.0/12 | grep -q "via 192.168.10.254 dev dummy0 proto static"
run ip -d link show bond0 | grep -q "bond mode active-backup"
run ip -4 addr show dev bond0 | grep -q "inet 10.20.0.1/24"
for n in 1 2; do run ip link show slave$n | grep -q "master bond0"; done
for v in 0 1; do
    run ip -d link show ve$v.42 | grep -q "vlan protocol 802.1Q id 42"
    run ip link show ve$v.42 | grep -q "ve$v.42@ve$v"
    run ip -4 addr show dev ve$v.42 | grep -q "inet 10.42.0.$(( v + 1 ))/24"
done

step "second run is a no-op"
rc=0
run keel-networkd --config-dir "$d" --once > /share/networkd-twice.log 2>&1 || rc=$?
test "$rc" = 1 # the bad file again
cat /share/networkd-twice.log
# Only diagnostics and the "loaded" line: no operation.
if grep -Ev "14-bad.netdev|loaded .* files" /share/networkd-twice.log; then
    echo "the second run did something"; exit 1
fi

step "status and list"
run keel-networkd --config-dir "$d" list | tee /share/networkd-list.txt
grep -Eq "bond0 +bond " /share/networkd-list.txt
grep -Eq "ve0\.42 +vlan .*configured" /share/networkd-list.txt
run keel-networkd --config-dir "$d" status ve0.42 --json > /share/networkd-status.json
grep -q '"kind": "vlan"' /share/networkd-status.json
grep -q '"type": "vlan"' /share/networkd-status.json
grep -q '"10.42.0.1/24"' /share/networkd-status.json

step "daemon: a link that appears later"
run keel-networkd --config-dir "$d" > /share/networkd-daemon.log 2>&1 &
pid=$!
wait_for 10 "the daemon's initial pass" grep -q "loaded" /share/networkd-daemon.log
sleep 0.5
run ip link add late0 type dummy
wait_for 10 "late0 configured" bash -c \
    "ip netns exec nd ip -4 addr show dev late0 | grep -q 'inet 10.99.0.1/24'"
run ip link show late0 | grep -q "mtu 1280"
run ip link show late0 | grep -q "<.*UP"
kill -0 "$pid"
kill "$pid"
wait "$pid" || true
grep -q "late0: configured" /share/networkd-daemon.log

ip netns del nd
echo "networkd: OK"
