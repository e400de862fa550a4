#!/usr/bin/env python3
"""End-to-end checks of SymGraph's ONNX support against onnxruntime.

  models.py build DIR            writes mlp.onnx and cnn.onnx (built with onnx.helper) and their
                                 test data (inputs, onnxruntime outputs, cotangents) under DIR
  models.py check DIR SYMGRAPH   runs `symgraph run` and `symgraph gradients` on them: outputs must
                                 match onnxruntime within 1e-4 relative; gradients must match central
                                 finite differences of onnxruntime along random directions
  models.py ort FILE.onnx IN OUT checks a model with onnx.checker (full check), runs it in onnxruntime
                                 on IN/input_*.pb and writes OUT/output_<k>.pb (used by the Swift tests)
  models.py exported FILE.onnx   checks a SymGraph-exported model with onnx.checker and runs it in
                                 onnxruntime; prints the outputs' sums (used by the Swift tests)

Exit code 0 when every check passes.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(1234)


def init(name, shape, scale=0.3):
    return numpy_helper.from_array((RNG.standard_normal(shape) * scale).astype(np.float32), name)


def mlp():
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], transB=1),
        helper.make_node("Relu", ["h1"], ["a1"]),
        helper.make_node("MatMul", ["a1", "w2"], ["m2"]),
        helper.make_node("Add", ["m2", "b2"], ["h2"]),
        helper.make_node("Tanh", ["h2"], ["a2"]),
        helper.make_node("Gemm", ["a2", "w3", "b3"], ["logits"], alpha=0.5, beta=2.0),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    inits = [init("w1", [16, 12]), init("b1", [16]), init("w2", [16, 8]), init("b2", [8]),
             init("w3", [8, 5]), init("b3", [5])]
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 12])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5]),
                           helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 5])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m, {"x": RNG.uniform(-1, 1, [4, 12]).astype(np.float32)}


def cnn():
    shape = helper.make_tensor("flat_shape", TensorProto.INT64, [2], [0, -1])
    nodes = [
        helper.make_node("Conv", ["x", "c1w", "c1b"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"], epsilon=1e-3),
        helper.make_node("Relu", ["bn"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "c2w"], ["c2"], kernel_shape=[3, 3], strides=[1, 1], pads=[0, 0, 0, 0]),
        helper.make_node("Sigmoid", ["c2"], ["s2"]),
        helper.make_node("AveragePool", ["s2"], ["p2"], kernel_shape=[2, 2], strides=[1, 1]),
        helper.make_node("Reshape", ["p2", "flat_shape"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fw", "fb"], ["logits"], transB=1),
        helper.make_node("LogSoftmax", ["logits"], ["logp"], axis=1),
        helper.make_node("GlobalAveragePool", ["c2"], ["gap"]),
    ]
    inits = [init("c1w", [4, 2, 3, 3]), init("c1b", [4]),
             numpy_helper.from_array(RNG.uniform(0.5, 1.5, [4]).astype(np.float32), "bn_s"),
             init("bn_b", [4]), init("bn_m", [4], 0.1),
             numpy_helper.from_array(RNG.uniform(0.5, 2, [4]).astype(np.float32), "bn_v"),
             init("c2w", [6, 4, 3, 3]), shape, init("fw", [3, 6 * 2 * 2]), init("fb", [3])]
    g = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 10, 10])],
                          [helper.make_tensor_value_info("logp", TensorProto.FLOAT, ["N", 3]),
                           helper.make_tensor_value_info("gap", TensorProto.FLOAT, ["N", 6, 1, 1])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m, {"x": RNG.uniform(-1, 1, [3, 2, 10, 10]).astype(np.float32)}


def ort_run(model, feeds):
    import onnxruntime as ort
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in s.get_outputs()], s.run(None, feeds)))


def save(arr, name, path):
    t = numpy_helper.from_array(arr, name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def load(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t.name, numpy_helper.to_array(t)


def build(root):
    for name, (m, feeds) in {"mlp": mlp(), "cnn": cnn()}.items():
        d = os.path.join(root, name)
        for sub in ["inputs", "expected", "cotangents"]:
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        onnx.save(m, os.path.join(d, "model.onnx"))
        for k, (n, v) in enumerate(feeds.items()):
            save(v, n, os.path.join(d, "inputs", f"input_{k}.pb"))
        outs = ort_run(m, feeds)
        for k, o in enumerate(m.graph.output):
            save(outs[o.name], o.name, os.path.join(d, "expected", f"output_{k}.pb"))
            save(RNG.standard_normal(outs[o.name].shape).astype(np.float32), o.name,
                 os.path.join(d, "cotangents", f"output_{k}.pb"))
    print(f"wrote models under {root}")


def loss_fn(model, feeds, cots):
    outs = ort_run(model, feeds)
    return sum(float(np.sum(outs[n].astype(np.float64) * c.astype(np.float64))) for n, c in cots.items())


def with_initializer(model, name, value):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for i, t in enumerate(m.graph.initializer):
        if t.name == name:
            m.graph.initializer[i].CopyFrom(numpy_helper.from_array(value.astype(np.float32), name))
    return m


def check(root, symgraph):
    failures = 0
    for name in ["mlp", "cnn"]:
        d = os.path.join(root, name)
        model = onnx.load(os.path.join(d, "model.onnx"))
        out = os.path.join(d, "got")
        subprocess.run([symgraph, "run", os.path.join(d, "model.onnx"), "--inputs", os.path.join(d, "inputs"),
                        "--outputs", out], check=True)
        for k, o in enumerate(model.graph.output):
            gn, got = load(os.path.join(out, f"output_{k}.pb"))
            _, exp = load(os.path.join(d, "expected", f"output_{k}.pb"))
            rel = np.max(np.abs(got - exp)) / max(np.max(np.abs(exp)), 1e-30)
            ok = gn == o.name and got.shape == exp.shape and rel <= 1e-4
            failures += not ok
            print(f"{name} run {o.name}: max rel err {rel:.2e} {'ok' if ok else 'FAIL'}")
        gd = os.path.join(d, "grads")
        subprocess.run([symgraph, "gradients", os.path.join(d, "model.onnx"), "--inputs", os.path.join(d, "inputs"),
                        "--cotangents", os.path.join(d, "cotangents"), "--outputs", gd], check=True)
        feeds = {load(os.path.join(d, "inputs", f))[0]: load(os.path.join(d, "inputs", f))[1]
                 for f in sorted(os.listdir(os.path.join(d, "inputs")))}
        cots = {}
        for f in sorted(os.listdir(os.path.join(d, "cotangents"))):
            n, v = load(os.path.join(d, "cotangents", f))
            cots[n] = v
        inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        for f in sorted(os.listdir(gd)):
            n, g = load(os.path.join(gd, f))
            base = feeds[n] if n in feeds else inits[n]
            errs = []
            gnorm = max(float(np.linalg.norm(g.astype(np.float64))), 1e-6)
            rms = max(float(np.linalg.norm(base)) / np.sqrt(max(base.size, 1)), 1e-2)
            for trial in range(3):
                v = RNG.standard_normal(base.shape)
                v /= max(np.linalg.norm(v), 1e-30)
                an = float(np.sum(g.astype(np.float64) * v))
                def at(delta):
                    val = (base.astype(np.float64) + delta * v).astype(np.float32)
                    if n in feeds:
                        return loss_fn(model, {**feeds, n: val}, cots)
                    return loss_fn(with_initializer(model, n, val), feeds, cots)
                # Central differences at a few step sizes (the smallest error counts: a step may
                # straddle a ReLU or max-pool kink); error relative to the gradient's norm.
                best = min(abs((at(eps) - at(-eps)) / (2 * eps) - an) / gnorm for eps in (1e-2 * rms, 3e-3 * rms, 1e-3 * rms))
                errs.append(best)
            err = max(errs)
            ok = err < 1e-3 and g.shape == base.shape
            failures += not ok
            print(f"{name} gradient {n}{list(g.shape)}: finite-difference rel err {err:.2e} {'ok' if ok else 'FAIL'}")
    print("all checks passed" if failures == 0 else f"{failures} check(s) FAILED")
    return failures == 0


def exported(path):
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    feeds = {}
    rng = np.random.default_rng(7)
    for i in m.graph.input:
        tt = i.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else 2 for d in tt.shape.dim]
        if tt.elem_type == TensorProto.FLOAT:
            feeds[i.name] = rng.uniform(0, 1, dims).astype(np.float32)
        else:
            feeds[i.name] = rng.integers(0, 10, dims).astype(helper.tensor_dtype_to_np_dtype(tt.elem_type))
    outs = ort_run(m, feeds)
    for i in m.graph.input:
        print("input", i.name, feeds[i.name].shape)
    for o in m.graph.output:
        print("output", o.name, repr(float(np.sum(outs[o.name].astype(np.float64)))))
    return True


def ort_files(path, ind, outd):
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    feeds = {}
    for f in sorted(os.listdir(ind), key=lambda f: int(f[6:-3])):
        n, v = load(os.path.join(ind, f))
        feeds[n] = v
    outs = ort_run(m, feeds)
    os.makedirs(outd, exist_ok=True)
    for k, o in enumerate(m.graph.output):
        save(outs[o.name], o.name, os.path.join(outd, f"output_{k}.pb"))
    return True


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "build":
        build(sys.argv[2])
    elif cmd == "check":
        sys.exit(0 if check(sys.argv[2], sys.argv[3]) else 1)
    elif cmd == "ort":
        sys.exit(0 if ort_files(sys.argv[2], sys.argv[3], sys.argv[4]) else 1)
    elif cmd == "exported":
        sys.exit(0 if exported(sys.argv[2]) else 1)
    else:
        print(__doc__)
        sys.exit(2)
