#!/usr/bin/env bash
# `make bench-peers`: installs the peer frameworks into a virtual environment under the build
# folder (PyPI only), runs the same workloads on each at 2 threads, then runs SymGraph's own
# benchmark in the same session and prints one side-by-side table (ratio peer / SymGraph).
# A peer that fails to install or to run is reported as such, not hidden.
set -uo pipefail
cd "$(dirname "$0")/../.."
VENV=.build/peers-venv
OUT=.build/peers
PEERS=${PEERS:-"numpy jax pytensor tensorflow torch"}
W5_SIZES=${W5_SIZES:-"100 1000"}
mkdir -p "$OUT"
: > "$OUT/results.jsonl"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" || { echo "bench-peers: cannot create a virtual environment"; exit 1; }
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null 2>&1 || true
fi
declare -A PKG=( [numpy]="numpy" [jax]="jax" [pytensor]="pytensor" [tensorflow]="tensorflow-cpu" [torch]="torch" )
declare -A MOD=( [numpy]="numpy" [jax]="jax" [pytensor]="pytensor" [tensorflow]="tensorflow" [torch]="torch" )
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2
for fw in $PEERS; do
    if ! "$VENV/bin/python" -c "import ${MOD[$fw]}" >/dev/null 2>&1; then
        echo "bench-peers: installing ${PKG[$fw]} …"
        if ! "$VENV/bin/pip" install -q "numpy" "${PKG[$fw]}" > "$OUT/install-$fw.log" 2>&1; then
            echo "{\"framework\": \"$fw\", \"workload\": \"error\", \"error\": \"pip install ${PKG[$fw]} failed (see $OUT/install-$fw.log)\"}" >> "$OUT/results.jsonl"
            continue
        fi
    fi
    echo "bench-peers: running $fw …"
    timeout 900 "$VENV/bin/python" bench/peers/peers.py "$fw" >> "$OUT/results.jsonl" 2> "$OUT/run-$fw.log" \
        || echo "{\"framework\": \"$fw\", \"workload\": \"error\", \"error\": \"run failed or timed out (see $OUT/run-$fw.log)\"}" >> "$OUT/results.jsonl"
    case $fw in jax|pytensor|tensorflow)
        timeout 300 "$VENV/bin/python" bench/peers/peers.py "$fw" --compile-only >> "$OUT/results.jsonl" 2>> "$OUT/run-$fw.log"
        for n in $W5_SIZES; do
            timeout 300 "$VENV/bin/python" bench/peers/peers.py "$fw" --w5 "$n" >> "$OUT/results.jsonl" 2>> "$OUT/run-$fw.log" \
                || echo "{\"framework\": \"$fw\", \"workload\": \"W5\", \"n\": $n, \"error\": \"timeout (300 s) or failure\"}" >> "$OUT/results.jsonl"
        done;;
    esac
done
swift run -c release symgraph bench --peers "$OUT/results.jsonl" ${QUICK:+--quick}
