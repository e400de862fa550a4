#!/usr/bin/env bash
# Runs the ONNX backend node tests through `symgraph run` and writes the pass rates into docs/onnx.md.
# Needs the venv of scripts/onnx/regenerate.sh (onnx, onnxruntime, numpy).
#   CONFIG=debug|release (default release), SCRATCH=scratch path (default .build), extra args go to node_tests.py.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${ONNX_PYTHON:-$ROOT/.build/onnx-venv/bin/python}"
SCRATCH="${SCRATCH:-$ROOT/.build}"
CONFIG="${CONFIG:-release}"
cd "$ROOT"
swift build --scratch-path "$SCRATCH" --product symgraph -c "$CONFIG"
BIN="$(swift build --scratch-path "$SCRATCH" --product symgraph -c "$CONFIG" --show-bin-path)/symgraph"
exec "$PY" "$ROOT/scripts/onnx/node_tests.py" --symgraph "$BIN" --docs "$ROOT/docs/onnx.md" "$@"
