#!/usr/bin/env python3
"""Exports torchvision's image models (random weights, no download) to ONNX with PyTorch, runs each
through onnxruntime and through `symgraph run`, and prints the largest difference relative to the
largest output.

Needs torch, torchvision, onnx and onnxruntime (for instance in .build/peers-venv:
`.build/peers-venv/bin/pip install torchvision onnx onnxruntime`).

Usage: python scripts/onnx/torchvision_models.py SYMGRAPH [WORKDIR] [MODEL ...]
"""
import os
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision
from onnx import numpy_helper

DEFAULT = ["resnet18", "mobilenet_v2", "squeezenet1_1", "efficientnet_b0", "densenet121", "shufflenet_v2_x0_5",
           "mnasnet0_5", "googlenet", "regnet_x_400mf", "alexnet", "vgg11", "vit_b_16", "convnext_tiny", "swin_t"]


def main():
    symgraph = sys.argv[1]
    work = sys.argv[2] if len(sys.argv) > 2 else "/tmp/symgraph-torchvision"
    names = sys.argv[3:] or DEFAULT
    torch.manual_seed(0)
    for name in names:
        d = os.path.join(work, name)
        os.makedirs(d + "/in", exist_ok=True)
        kw = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
        m = getattr(torchvision.models, name)(weights=None, **kw).eval()
        if name.startswith("vit"):  # torchvision zero-initializes ViT's head: make the output informative
            torch.nn.init.normal_(m.heads.head.weight, std=0.02)
        x = torch.randn(1, 3, 224, 224)
        torch.onnx.export(m, (x,), d + "/model.onnx", input_names=["x"], output_names=["y"], opset_version=17, dynamo=False)
        with open(d + "/in/input_0.pb", "wb") as f:
            f.write(numpy_helper.from_array(x.numpy(), "x").SerializeToString())
        want = ort.InferenceSession(d + "/model.onnx").run(None, {"x": x.numpy()})[0]
        t = time.time()
        p = subprocess.run([symgraph, "run", d + "/model.onnx", "--inputs", d + "/in", "--outputs", d + "/out"],
                           capture_output=True, text=True, timeout=600)
        dt = time.time() - t
        if p.returncode != 0:
            print(f"{name}: FAIL {(p.stderr or p.stdout).strip().splitlines()[-1][:300]}")
            continue
        got = numpy_helper.to_array(onnx.load_tensor(d + "/out/output_0.pb"))
        err = float(np.max(np.abs(got - want)) / max(1e-6, float(np.max(np.abs(want)))))
        ops = sorted(set(n.op_type for n in onnx.load(d + "/model.onnx").graph.node))
        print(f"{name}: max |symgraph - onnxruntime| / max |y| = {err:.1e} ({dt:.1f} s for import, compile and run; ops: {', '.join(ops)})")


if __name__ == "__main__":
    main()
