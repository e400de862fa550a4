#!/usr/bin/env bash
# Regenerates Sources/ONNX/Generated/onnx.pb.swift from onnx.proto.
#
# Not needed to build SymGraph: the generated file is committed and CI only needs the
# SwiftProtobuf library. Run this when moving to a newer onnx.proto.
#
# Needs: protoc (Debian: `apt-get install -y protobuf-compiler`), protoc-gen-swift built from
# swift-protobuf 1.39.0 (the version Package.swift pins), and onnx.proto from the `onnx`
# PyPI wheel (onnx 1.23.2 was used: IR version 13, opsets up to 25).
#
#   git clone https://github.com/apple/swift-protobuf /tmp/swift-protobuf
#   (cd /tmp/swift-protobuf && git checkout 1.39.0 && swift build -c release --product protoc-gen-swift)
#   python3 -m venv .build/onnx-venv && .build/onnx-venv/bin/pip install onnx onnxruntime
#   scripts/onnx/regenerate.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PLUGIN="${PROTOC_GEN_SWIFT:-/tmp/swift-protobuf/.build/release/protoc-gen-swift}"
PY="${ONNX_PYTHON:-$ROOT/.build/onnx-venv/bin/python}"
PROTO_DIR="$("$PY" -c 'import onnx, os; print(os.path.dirname(onnx.__file__))')"
OUT="$ROOT/Sources/ONNX/Generated"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# Copy onnx.proto alone so the generated file is named onnx.pb.swift.
cp "$PROTO_DIR/onnx.proto" "$TMP/onnx.proto"
mkdir -p "$OUT"
protoc --plugin=protoc-gen-swift="$PLUGIN" -I "$TMP" \
    --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
    --swift_out="$OUT" "$TMP/onnx.proto"
echo "wrote $OUT/onnx.pb.swift (onnx $("$PY" -c 'import onnx; print(onnx.__version__)'))"
