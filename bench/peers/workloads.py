"""The benchmark workloads of docs/benchmarks.md: deterministic data, shared by every peer.

Bit-identical to SymGraph's DeterministicRandom (Sources/Graph/Core/DeterministicRandom.swift).
"""
import numpy as np

M32 = 0xFFFFFFFF


def det_u32(n, seed):
    i = np.arange(n, dtype=np.uint64)
    h = (i + np.uint64((seed * 0x9E3779B9) & M32)) & np.uint64(M32)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(M32)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(M32)
    h ^= h >> np.uint64(16)
    return h


def det_uniform(shape, seed, lo, hi):
    n = int(np.prod(shape))
    u = det_u32(n, seed).astype(np.float64) / 2.0 ** 32
    return (lo + (hi - lo) * u).astype(np.float32).reshape(shape)


def det_labels(n, seed):
    return (det_u32(n, seed) % np.uint64(10)).astype(np.int32)


def glorot(shape, fan_in, fan_out, seed):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return det_uniform(shape, seed, -lim, lim)


def mlp_data():
    x = det_uniform((128, 784), 1, 0, 1)
    y = det_labels(128, 2)
    ws = [glorot((784, 512), 784, 512, 11), glorot((512, 512), 512, 512, 12), glorot((512, 10), 512, 10, 13)]
    bs = [np.zeros(512, np.float32), np.zeros(512, np.float32), np.zeros(10, np.float32)]
    return x, y, ws, bs


def chain_data(n=4_194_304):
    return [det_uniform((n,), s, -2, 2) for s in (21, 22, 23)]


def lenet_data():
    x = det_uniform((64, 1, 28, 28), 31, 0, 1)
    y = det_labels(64, 32)
    params = [
        glorot((20, 1, 5, 5), 25, 500, 33), np.zeros(20, np.float32),
        glorot((50, 20, 5, 5), 500, 1250, 34), np.zeros(50, np.float32),
        glorot((800, 500), 800, 500, 35), np.zeros(500, np.float32),
        glorot((500, 10), 500, 10, 36), np.zeros(10, np.float32),
    ]
    return x, y, params


def unrolled_data():
    return det_uniform((1000,), 51, -1, 1)


REF = {
    "W1_loss0": 2.4895192352675526,
    "W1_loss1": 2.406916541939973,
    "W1f_sum": 18.235961864455003,
    "W2_sum": 2795834.20443243,
    "W3_loss0": 2.277793,
    "W3_loss1": 2.272654,
    "W5_loss": -113.09733552923255,
}


def close(a, b, rel):
    return abs(float(a) - b) <= rel * abs(b)
