#!/bin/bash
# A BATMAN-adv mesh configured by keel-networkd (issue 6): three network namespaces in a
# line, n1 - n2 - n3, joined by veth pairs (v12/v21, v23/v32). In each, keel-networkd runs
# as a daemon on its own config dir: a .netdev Kind=batadv with non-default mesh options
# (BridgeLoopAvoidance=no saves the 30 s of loop detection), a .network attaching the veth
# ends with BatmanAdvanced=bat0 and one giving bat0 an address. Then:
# - n1 pings n3 over two hops (n1 and n3 share no link; n2 forwards in the mesh);
# - the mesh options read back through keel's genl (`keel-networkd status bat0 --json`,
#   BATADV_CMD_GET_MESH) and through batctl equal the files, per node;
# - n1's originator table reaches n3 through n2.
# Logs, configs and status output are kept in /share (target/vm/runs/batadv-mesh/share).
# vm: timeout=180
set -euo pipefail
trap 'echo "FAILED: line $LINENO: $BASH_COMMAND (status $?)"; tail -n 30 /share/networkd-n*.log 2>/dev/null || true' ERR
step() { echo "== $* (uptime $(cut -d" " -f1 /proc/uptime))"; }

wait_for() { # SECONDS DESCRIPTION COMMAND...: polls every 0.2 s
    local tries=$(( $1 * 5 )) what=$2
    shift 2
    for _ in $(seq "$tries"); do "$@" > /dev/null 2>&1 && return 0; sleep 0.2; done
    echo "timed out waiting for $what"
    return 1
}

step "namespaces and veth pairs"
for n in 1 2 3; do ip netns add n$n; ip -n n$n link set lo up; done
ip link add v12 netns n1 type veth peer name v21 netns n2
ip link add v23 netns n2 type veth peer name v32 netns n3

# Per node: gateway mode, the gateway lines, the veth ends.
gw_lines() {
    case $1 in
    1) printf 'GatewayMode=server\n# 248 spelling of the bandwidth keys, and the later one\nGatewayBandwithDown=10M\nGatewayBandwidthUp=2M\n' ;;
    2) printf 'GatewayMode=off\n' ;;
    3) printf 'GatewayMode=client\n' ;;
    esac
}
veths() { case $1 in 1) echo v12 ;; 2) echo "v21 v23" ;; 3) echo v32 ;; esac; }

step "config dirs"
for n in 1 2 3; do
    d=/share/n$n
    mkdir -p "$d"
    cat > "$d/10-bat0.netdev" <<EOF
[NetDev]
Name=bat0
Kind=batadv

[BatmanAdvanced]
RoutingAlgorithm=batman-v
BridgeLoopAvoidance=no
OriginatorIntervalSec=200ms
HopPenalty=40
DistributedArpTable=no
Fragmentation=no
Aggregation=no
$(gw_lines $n)
EOF
    for v in $(veths $n); do
        cat > "$d/20-$v.network" <<EOF
[Match]
Name=$v

[Link]
MTUBytes=1560

[Network]
BatmanAdvanced=bat0
EOF
    done
    cat > "$d/30-bat0.network" <<EOF
[Match]
Name=bat0

[Network]
Address=10.10.0.$n/24
EOF
done

step "keel-networkd in each namespace"
pids=()
for n in 1 2 3; do
    ip netns exec n$n keel-networkd --config-dir /share/n$n > /share/networkd-n$n.log 2>&1 &
    pids+=($!)
done
for n in 1 2 3; do
    wait_for 30 "bat0 10.10.0.$n/24 in n$n" \
        bash -c "ip -n n$n -4 addr show dev bat0 | grep -q 'inet 10.10.0.$n/24'"
    wait_for 10 "bat0 up in n$n" bash -c "ip -n n$n link show bat0 | grep -q '<.*,UP'"
    ip -n n$n -d link show bat0 | grep -q batadv
    for v in $(veths $n); do
        wait_for 10 "$v enslaved to bat0 in n$n" \
            bash -c "ip -n n$n link show $v | grep -q 'mtu 1560 .*master bat0'"
    done
done
for p in "${pids[@]}"; do kill -0 "$p"; done

step "ping n1 -> n3 over two hops"
start=$(cut -d" " -f1 /proc/uptime)
wait_for 60 "a 2-hop ping 10.10.0.1 -> 10.10.0.3" ip netns exec n1 ping -c1 -W1 10.10.0.3
echo "first ping after $(awk -v s="$start" '{printf "%.1f", $1 - s}' /proc/uptime) s"
ip netns exec n1 ping -c3 -i0.2 -W1 10.10.0.3
# n1 and n3 share no link: n3's originator (its primary hard interface, v32) is reached
# through n2 (next hop v21).
mac() { ip -n "$1" link show "$2" | awk '/link\/ether/ {print $2}'; }
n3mac=$(mac n3 v32)
wait_for 20 "n3 in n1's originator table" \
    bash -c "ip netns exec n1 batctl meshif bat0 originators -H | grep -q '$n3mac'"
ip netns exec n1 batctl meshif bat0 originators | tee /share/originators-n1.txt
grep "$n3mac" /share/originators-n1.txt | grep -q "$(mac n2 v21)"
# batctl's traceroute (originator addresses): hop 1 is n2, hop 2 is n3.
ip netns exec n1 batctl meshif bat0 traceroute 10.10.0.3 | tee /share/traceroute-n1.txt
grep -Eq "^ *1: ($(mac n2 v21)|$(mac n2 v23)) " /share/traceroute-n1.txt
grep -Eq "^ *2: $n3mac " /share/traceroute-n1.txt

step "mesh options read back"
# field VALUE: a JSON member of keel-networkd's status (any spacing).
json_has() { grep -Eq "\"$1\"[[:space:]]*:[[:space:]]*$2([,}[:space:]]|\$)" "$3"; }
batctl_is() { # NS SETTING PATTERN
    local got
    got=$(ip netns exec "$1" batctl meshif bat0 "$2")
    echo "$1 batctl $2: $got"
    grep -Eq "$3" <<< "$got"
}
for n in 1 2 3; do
    s=/share/status-n$n.json
    ip netns exec n$n keel-networkd status bat0 --json > "$s"
    cat "$s"
    json_has hop_penalty 40 "$s"
    json_has orig_interval 200 "$s"
    json_has aggregated_ogms false "$s"
    json_has bridge_loop_avoidance false "$s"
    json_has distributed_arp_table false "$s"
    json_has fragmentation false "$s"
    batctl_is n$n hop_penalty '^40$'
    batctl_is n$n orig_interval '^200$'
    batctl_is n$n aggregation '^disabled$'
    batctl_is n$n bridge_loop_avoidance '^disabled$'
    batctl_is n$n distributed_arp_table '^disabled$'
    batctl_is n$n fragmentation '^disabled$'
    ip netns exec n$n batctl routing_algo | tee /dev/stderr | grep -q 'bat0: BATMAN_V'
done
json_has gw_mode '"server"' /share/status-n1.json
json_has gw_bandwidth_down 100 /share/status-n1.json
json_has gw_bandwidth_up 20 /share/status-n1.json
json_has gw_mode '"off"' /share/status-n2.json
json_has gw_mode '"client"' /share/status-n3.json
batctl_is n1 gw_mode '^server \(announced bw: 10\.0/2\.0 MBit\)'
batctl_is n2 gw_mode '^off'
batctl_is n3 gw_mode '^client'
# The originator table through keel's genl too (n3, via n2).
grep -q "$n3mac" /share/status-n1.json

step "shutdown"
for p in "${pids[@]}"; do kill "$p"; done
for p in "${pids[@]}"; do wait "$p" || true; done
for n in 1 2 3; do ip netns del n$n; done
echo "batadv-mesh: OK"
