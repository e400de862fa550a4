#!/usr/bin/env python3
"""ONNX backend node tests through `symgraph run`.

Generates every node test case of the installed `onnx` package
(onnx.backend.test.case.node.collect_testcases), writes each as the ONNX test-data layout
(model.onnx + test_data_set_k/input_*.pb), runs `symgraph run` on it, compares the outputs with
the expected ones (the case's rtol/atol), and reports the pass rate per op. With --docs it
rewrites the node-test section of docs/onnx.md.

Usage: scripts/onnx/node-tests.sh  (or: python scripts/onnx/node_tests.py --symgraph PATH [--docs docs/onnx.md])
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.test.case.node import collect_testcases

# The ONNX ops the importer maps onto the IR (Sources/ONNX/ImportOps*.swift).
SUPPORTED = set("""
Relu Sigmoid Tanh Exp Log Sqrt Abs Neg Erf Floor Ceil Round Sign Sin Cos Reciprocal Softplus Not
Add Sub Mul Div Equal Less LessOrEqual Greater GreaterOrEqual And Or Xor
Identity Constant Dropout LeakyRelu Elu Selu Celu Gelu HardSigmoid HardSwish Softsign Mish ThresholdedRelu PRelu Tan
IsNaN IsInf Sum Max Min Mean Pow Mod Where Clip Cast CastLike MatMul Gemm Conv MaxPool AveragePool
GlobalAveragePool GlobalMaxPool BatchNormalization InstanceNormalization LayerNormalization Softmax LogSoftmax Hardmax
OneHot Reshape Flatten Transpose Squeeze Unsqueeze Concat Split Slice Gather Expand Tile Pad Shape Size ConstantOfShape Range
ReduceSum ReduceMean ReduceMax ReduceMin ReduceProd ReduceLogSumExp ReduceSumSquare ReduceL1 ReduceL2 ReduceLogSum
ArgMax ArgMin OneHot Sinh Cosh Asinh Acosh Atanh Swish Shrink Trilu CumSum DepthToSpace SpaceToDepth EyeLike
MeanVarianceNormalization LpNormalization GroupNormalization RMSNormalization GatherElements Loop If QuantizeLinear DequantizeLinear ConvTranspose Resize Upsample RNN GRU LSTM NegativeLogLikelihoodLoss SoftmaxCrossEntropyLoss Attention RotaryEmbedding CenterCropPad TopK Einsum GatherND ScatterND ScatterElements Scatter HannWindow HammingWindow BlackmanWindow LpPool CumProd LRN AffineGrid GridSample BitwiseAnd BitwiseOr BitwiseXor BitwiseNot BitShift
""".split())

# Element types SymGraph reads (float, double, int32, int64, bool, and the narrow types it widens).
IR_TYPES = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26}


def op_of(case, base_ops):
    """The op a test is about: the single node's op, or the base test's op for expanded tests."""
    nodes = case.model.graph.node
    if len(nodes) == 1:
        return nodes[0].op_type
    base = re.sub(r"_expanded.*$", "", case.name)
    if base in base_ops:
        return base_ops[base]
    return nodes[-1].op_type if nodes else "?"


def types_in(model):
    g = model.graph
    ts = set()
    for v in list(g.input) + list(g.output):
        if v.type.HasField("tensor_type"):
            ts.add(v.type.tensor_type.elem_type)
        else:
            ts.add(-1)
    return ts


def write_case(case, root):
    d = os.path.join(root, case.name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(case.model.SerializeToString())
    sets = []
    for i, (inputs, outputs) in enumerate(case.data_sets):
        sd = os.path.join(d, f"test_data_set_{i}")
        os.makedirs(sd, exist_ok=True)
        for j, x in enumerate(inputs):
            name = case.model.graph.input[j].name
            t = x if isinstance(x, onnx.TensorProto) else numpy_helper.from_array(np.asarray(x), name)
            t.name = name
            with open(os.path.join(sd, f"input_{j}.pb"), "wb") as f:
                f.write(t.SerializeToString())
        sets.append((sd, outputs))
    return d, sets


def compare(expected, got_path, rtol, atol, shape_only):
    t = onnx.TensorProto()
    with open(got_path, "rb") as f:
        t.ParseFromString(f.read())
    got = numpy_helper.to_array(t)
    exp = expected if isinstance(expected, np.ndarray) else np.asarray(
        numpy_helper.to_array(expected) if isinstance(expected, onnx.TensorProto) else expected)
    if got.dtype != exp.dtype:
        return f"dtype {got.dtype} != expected {exp.dtype}"
    if got.shape != exp.shape:
        return f"shape {got.shape} != expected {exp.shape}"
    if shape_only:
        return None
    if exp.dtype.kind not in "fcbiu":  # bfloat16 and other ml_dtypes: compare as float32
        got, exp = got.astype(np.float32), exp.astype(np.float32)
    if exp.dtype.kind in "fc":
        ok = np.allclose(got, exp, rtol=rtol, atol=atol, equal_nan=True)
        if not ok:
            err = np.nanmax(np.abs(got.astype(np.float64) - exp.astype(np.float64))) if got.size else 0
            return f"values differ (max abs err {err:.3g})"
    elif not np.array_equal(got, exp):
        return "values differ"
    return None


def run_case(symgraph, case_dir, sets, rtol, atol, shape_only):
    for sd, outputs in sets:
        od = sd + "_out"
        shutil.rmtree(od, ignore_errors=True)
        try:
            p = subprocess.run([symgraph, "run", os.path.join(case_dir, "model.onnx"), "--inputs", sd, "--outputs", od],
                               capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            return "timeout"
        if p.returncode != 0:
            msg = (p.stderr.strip() or p.stdout.strip()).splitlines()
            msg = msg[-1] if msg else f"exit code {p.returncode}"
            if p.returncode < 0:
                msg = f"CRASH (signal {-p.returncode}): {msg}"
            return msg.replace("Error: ", "")
        for k, exp in enumerate(outputs):
            path = os.path.join(od, f"output_{k}.pb")
            if not os.path.exists(path):
                return f"output {k} missing"
            why = compare(exp, path, rtol, atol, shape_only)
            if why:
                return f"output {k}: {why}"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--symgraph", required=True)
    ap.add_argument("--docs")
    ap.add_argument("--filter", default="")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", help="folder to keep the generated tests in")
    args = ap.parse_args()

    cases = [c for c in collect_testcases() if args.filter in c.name]
    base_ops = {c.name: c.model.graph.node[0].op_type for c in cases if len(c.model.graph.node) == 1}
    root = args.keep or tempfile.mkdtemp(prefix="onnx-node-tests-")
    jobs = []
    for c in cases:
        op = op_of(c, base_ops)
        shape_only = op == "Dropout" and "training" in c.name
        jobs.append((c, op, shape_only))

    results = {}

    def work(item):
        c, op, shape_only = item
        if op not in SUPPORTED:
            return c.name, op, "skip", "op not supported"
        if not types_in(c.model) <= IR_TYPES:
            kind = "dtype"
        else:
            kind = "run"
        d, sets = write_case(c, root)
        why = run_case(args.symgraph, d, sets, c.rtol, c.atol, shape_only)
        status = "pass" if why is None else ("fail-dtype" if kind == "dtype" else "fail")
        return c.name, op, status, why

    with cf.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        for name, op, status, why in ex.map(work, jobs):
            results[name] = (op, status, why)
            if status.startswith("fail"):
                print(f"FAIL {name} [{op}]: {why}", file=sys.stderr)

    per_op = collections.defaultdict(lambda: collections.Counter())
    for name, (op, status, why) in results.items():
        per_op[op][status] += 1
    sup = [r for r in results.values() if r[1] != "skip"]
    passed = sum(1 for r in sup if r[1] == "pass")
    sup_ir = [r for r in sup if r[1] != "fail-dtype"]
    lines = []
    lines.append(f"onnx {onnx.__version__}: {len(results)} node tests; {len(sup)} of ops the importer supports.\n")
    lines.append(f"- **Pass rate over tests of supported ops: {passed}/{len(sup)} = {100.0 * passed / max(len(sup), 1):.1f}%**")
    lines.append(f"- Excluding tests that use element types SymGraph cannot represent (strings, complex numbers, 6-bit floats, sequences, optionals): "
                 f"{passed}/{len(sup_ir)} = {100.0 * passed / max(len(sup_ir), 1):.1f}%")
    lines.append(f"- Tests of unsupported ops (not run): {len(results) - len(sup)}\n")
    lines.append("| op | tests | pass | fail | fail (unsupported dtype) |")
    lines.append("|---|---:|---:|---:|---:|")
    for op in sorted(per_op):
        if op not in SUPPORTED:
            continue
        c = per_op[op]
        tot = c["pass"] + c["fail"] + c["fail-dtype"]
        lines.append(f"| {op} | {tot} | {c['pass']} | {c['fail']} | {c['fail-dtype']} |")
    lines.append("\n**Every failure of a supported op, with its reason:**\n")
    for name in sorted(results):
        op, status, why = results[name]
        if status.startswith("fail"):
            tag = " (unsupported dtype)" if status == "fail-dtype" else ""
            lines.append(f"- `{name}` [{op}]{tag}: {why.replace('|', '/')[:300]}")
    unsupported = sorted({op for op, st, _ in results.values() if st == "skip"})
    lines.append(f"\n**Ops not supported ({len(unsupported)}):** " + ", ".join(unsupported))
    report = "\n".join(lines)
    print(report)
    if args.docs:
        text = open(args.docs).read()
        begin, end = "<!-- node-tests:begin -->", "<!-- node-tests:end -->"
        if begin in text and end in text:
            text = text.split(begin)[0] + begin + "\n" + report + "\n" + end + text.split(end)[1]
        else:
            text += f"\n{begin}\n{report}\n{end}\n"
        open(args.docs, "w").write(text)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
