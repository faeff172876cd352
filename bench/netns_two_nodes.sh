#!/usr/bin/env bash
# Multi-node as it really runs, on one machine: two torchrun agents (--nnodes 2), each in its own network
# namespace joined by a veth pair, rendezvous over that link (c10d) and train one run on gensim's Lee corpus.
# Needs root and iproute2. Usage: sudo bench/netns_two_nodes.sh [PYTHON]; prints the run's status.
set -euo pipefail
PY=${1:-python}
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
A=w2v-node-a; B=w2v-node-b
cleanup() { tail -5 "$WORK"/a.log "$WORK"/b.log 2>/dev/null || true; ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
ip netns add $A; ip netns add $B
ip link add veth-a type veth peer name veth-b
ip link set veth-a netns $A; ip link set veth-b netns $B
ip -n $A addr add 10.77.0.1/24 dev veth-a; ip -n $B addr add 10.77.0.2/24 dev veth-b
for ns in $A $B; do ip -n $ns link set lo up; done
ip -n $A link set veth-a up; ip -n $B link set veth-b up
LEE=$($PY -c "from gensim.test.utils import datapath; print(datapath('lee_background.cor'))")
# is_host: the agent on 10.77.0.1 hosts the rendezvous store (the hostname, the same in both namespaces, does not
# resolve to it); --local-addr: the address each agent advertises for the process group's store.
node() {  # node NS IS_HOST IFACE ADDR
  (cd "$REPO" && ip netns exec "$1" env GLOO_SOCKET_IFNAME="$3" "$PY" -m torch.distributed.run --nnodes 2 \
    --local-addr "$4" --nproc-per-node 1 --rdzv-backend c10d --rdzv-endpoint 10.77.0.1:29400 --rdzv-id w2v \
    --rdzv-conf is_host="$2" \
    -m w2vcore --runs-dir "$WORK/runs" --cache-dir "$WORK/cache" train --corpus "$LEE" --min-count 3 \
    --epochs 2 --threads 1 --sync-every 10000 --name two-nodes)
}
node $A true veth-a 10.77.0.1 > "$WORK/a.log" 2>&1 & PA=$!
node $B false veth-b 10.77.0.2 > "$WORK/b.log" 2>&1 & PB=$!
wait $PA && wait $PB
ls "$WORK/runs"
$PY - "$WORK/runs" <<'PYEOF'
import json, pathlib, sys
(run,) = pathlib.Path(sys.argv[1]).iterdir()
st = json.loads((run / "status.json").read_text())
print({k: st.get(k) for k in ("status", "world_size", "syncs", "sync_seconds", "sync_wait_s", "progress")})
PYEOF
