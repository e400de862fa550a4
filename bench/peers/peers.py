"""Runs the SymGraph benchmark workloads on one peer framework and prints JSON records.

Usage: python peers.py FRAMEWORK [--quick] [--compile-only]
FRAMEWORK: numpy, jax, pytensor, tensorflow, torch.
Every workload first checks its numbers against the references: a fast wrong answer fails.
"""
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "2")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workloads import REF, chain_data, close, lenet_data, mlp_data, unrolled_data  # noqa: E402

LR = np.float32(0.01)


def timeit(fn, warmup=3, min_reps=10, budget=2.0):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or (time.perf_counter() - start < budget and len(times) < 200):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2], times[0]


def emit(fw, workload, median, mn, ok, n=None, **extra):
    rec = {"framework": fw, "workload": workload, "n": n, "median_ms": median, "min_ms": mn,
           "check": "ok" if ok else "failed"}
    rec.update(extra)
    print(json.dumps(rec), flush=True)


# ---------------------------------------------------------------- numpy
def run_numpy(quick):
    x, y, ws, bs = mlp_data()
    ws = [w.copy() for w in ws]
    bs = [b.copy() for b in bs]

    def forward(x):
        h1 = np.maximum(x @ ws[0] + bs[0], 0)
        h2 = np.maximum(h1 @ ws[1] + bs[1], 0)
        return h1, h2, h2 @ ws[2] + bs[2]

    def step():
        h1, h2, lg = forward(x)
        m = lg.max(1, keepdims=True)
        e = np.exp(lg - m)
        s = e.sum(1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) + m[:, 0] - lg[np.arange(128), y])
        d = e / s
        d[np.arange(128), y] -= 1
        d /= 128
        gw3 = h2.T @ d; gb3 = d.sum(0)
        dh2 = (d @ ws[2].T) * (h2 > 0)
        gw2 = h1.T @ dh2; gb2 = dh2.sum(0)
        dh1 = (dh2 @ ws[1].T) * (h1 > 0)
        gw1 = x.T @ dh1; gb1 = dh1.sum(0)
        for p, g in zip(ws + bs, [gw1, gw2, gw3, gb1, gb2, gb3]):
            p -= LR * g
        return loss

    l0 = step(); l1 = step()
    ok = close(l0, REF["W1_loss0"], 1e-4) and close(l1, REF["W1_loss1"], 1e-4)
    emit("numpy", "W1", *timeit(step), ok)
    x, y, ws, bs = mlp_data()

    def fwd():
        lg = forward(x)[2]
        e = np.exp(lg - lg.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)
    emit("numpy", "W1f", *timeit(fwd), close(fwd()[:, 0].sum(), REF["W1f_sum"], 1e-4))
    a, b, c = chain_data()

    def chain():
        return np.tanh(a * b + c) * (1 / (1 + np.exp(-a))) + 0.5 * a * a
    emit("numpy", "W2", *timeit(chain), close(chain().astype(np.float64).sum(), REF["W2_sum"], 1e-4))


# ---------------------------------------------------------------- jax
def run_jax(quick, compile_only=False):
    t_start = time.perf_counter()
    import jax
    import jax.numpy as jnp
    t_import = time.perf_counter()

    def mlp_loss(params, x, y):
        w1, b1, w2, b2, w3, b3 = params
        h = jax.nn.relu(x @ w1 + b1)
        h = jax.nn.relu(h @ w2 + b2)
        lg = h @ w3 + b3
        return jnp.mean(jax.nn.logsumexp(lg, axis=1) - jnp.take_along_axis(lg, y[:, None], 1)[:, 0])

    @jax.jit
    def step(params, x, y):
        loss, g = jax.value_and_grad(mlp_loss)(params, x, y)
        return loss, [p - LR * gp for p, gp in zip(params, g)]

    x, y, ws, bs = mlp_data()
    params = [jnp.asarray(v) for v in (ws[0], bs[0], ws[1], bs[1], ws[2], bs[2])]
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    t0 = time.perf_counter()
    l0, params = step(params, xj, yj)
    l0 = float(l0)
    compile_s = time.perf_counter() - t0
    if compile_only:
        emit("jax", "W4", compile_s * 1e3, compile_s * 1e3, close(l0, REF["W1_loss0"], 1e-4))
        return
    l1, params = step(params, xj, yj)
    ok = close(l0, REF["W1_loss0"], 1e-4) and close(float(l1), REF["W1_loss1"], 1e-4)
    state = {"p": params}

    def run_step():
        l, state["p"] = step(state["p"], xj, yj)
        l.block_until_ready()
    emit("jax", "W1", *timeit(run_step), ok)

    params0 = [jnp.asarray(v) for v in (ws[0], bs[0], ws[1], bs[1], ws[2], bs[2])]

    @jax.jit
    def fwd(params, x):
        w1, b1, w2, b2, w3, b3 = params
        h = jax.nn.relu(x @ w1 + b1)
        h = jax.nn.relu(h @ w2 + b2)
        return jax.nn.softmax(h @ w3 + b3, axis=1)
    p = fwd(params0, xj)
    emit("jax", "W1f", *timeit(lambda: fwd(params0, xj).block_until_ready()), close(float(p[:, 0].sum()), REF["W1f_sum"], 1e-4))

    a, b, c = [jnp.asarray(v) for v in chain_data()]
    chain = jax.jit(lambda a, b, c: jnp.tanh(a * b + c) * jax.nn.sigmoid(a) + 0.5 * a * a)
    out = chain(a, b, c)
    emit("jax", "W2", *timeit(lambda: chain(a, b, c).block_until_ready()), close(np.asarray(out, np.float64).sum(), REF["W2_sum"], 1e-4))

    xl, yl, lp = lenet_data()

    def lenet_loss(p, x, y):
        dn = ("NCHW", "OIHW", "NCHW")
        h = jax.lax.conv_general_dilated(x, p[0], (1, 1), "VALID", dimension_numbers=dn) + p[1][None, :, None, None]
        h = jax.lax.reduce_window(jax.nn.relu(h), -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        h = jax.lax.conv_general_dilated(h, p[2], (1, 1), "VALID", dimension_numbers=dn) + p[3][None, :, None, None]
        h = jax.lax.reduce_window(jax.nn.relu(h), -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        h = h.reshape(h.shape[0], -1)
        h = jax.nn.relu(h @ p[4] + p[5])
        lg = h @ p[6] + p[7]
        return jnp.mean(jax.nn.logsumexp(lg, axis=1) - jnp.take_along_axis(lg, y[:, None], 1)[:, 0])

    @jax.jit
    def lstep(p, x, y):
        loss, g = jax.value_and_grad(lenet_loss)(p, x, y)
        return loss, [a - LR * b for a, b in zip(p, g)]
    lp = [jnp.asarray(v) for v in lp]
    xl, yl = jnp.asarray(xl), jnp.asarray(yl)
    l0, lp = lstep(lp, xl, yl)
    l1, lp = lstep(lp, xl, yl)
    ok = close(float(l0), REF["W3_loss0"], 1e-4) and close(float(l1), REF["W3_loss1"], 1e-4)
    st = {"p": lp}

    def run_l():
        l, st["p"] = lstep(st["p"], xl, yl)
        l.block_until_ready()
    emit("jax", "W3", *timeit(run_l, budget=3.0), ok)


# ---------------------------------------------------------------- W5 (jax) in its own process
def run_w5(fw, n):
    x0 = unrolled_data()
    t0 = time.perf_counter()
    if fw == "jax":
        import jax
        import jax.numpy as jnp

        def f(x):
            for _ in range(n):
                x = jnp.sin(x) * 0.5 + x
            return jnp.sum(x)
        g = jax.jit(jax.value_and_grad(f))
        l, gr = g(jnp.asarray(x0))
        l = float(l)
        compile_ms = (time.perf_counter() - t0) * 1e3
        med, mn = timeit(lambda: g(jnp.asarray(x0))[0].block_until_ready(), warmup=1, min_reps=3, budget=1.0)
    elif fw == "tensorflow":
        import tensorflow as tf
        xv = tf.constant(x0)

        @tf.function
        def g(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = x
                for _ in range(n):
                    y = tf.sin(y) * 0.5 + y
                loss = tf.reduce_sum(y)
            return loss, tape.gradient(loss, x)
        l = float(g(xv)[0])
        compile_ms = (time.perf_counter() - t0) * 1e3
        med, mn = timeit(lambda: g(xv)[0].numpy(), warmup=1, min_reps=3, budget=1.0)
    elif fw == "pytensor":
        sys.setrecursionlimit(1_000_000)  # PyTensor walks deep graphs recursively
        import pytensor
        import pytensor.tensor as pt
        x = pt.vector("x", dtype="float32")
        y = x
        for _ in range(n):
            y = pt.sin(y) * np.float32(0.5) + y
        loss = pt.sum(y)
        f = pytensor.function([x], [loss, pytensor.grad(loss, x)])
        l = float(f(x0)[0])
        compile_ms = (time.perf_counter() - t0) * 1e3
        med, mn = timeit(lambda: f(x0), warmup=1, min_reps=3, budget=1.0)
    else:
        return
    emit(fw, "W5", compile_ms, compile_ms, close(l, REF["W5_loss"], 1e-4), n=n, run_ms=med)


# ---------------------------------------------------------------- pytensor
def run_pytensor(quick, compile_only=False):
    import pytensor
    import pytensor.tensor as pt
    x, y, ws, bs = mlp_data()
    t0 = time.perf_counter()
    X = pt.matrix("x", dtype="float32"); Y = pt.ivector("y")
    shared = [pytensor.shared(v.copy()) for v in (ws[0], bs[0], ws[1], bs[1], ws[2], bs[2])]
    w1, b1, w2, b2, w3, b3 = shared
    h = pt.maximum(X @ w1 + b1, 0)
    h = pt.maximum(h @ w2 + b2, 0)
    lg = h @ w3 + b3
    loss = pt.mean(pt.logsumexp(lg, axis=1) - lg[pt.arange(Y.shape[0]), Y])
    grads = pytensor.grad(loss, shared)
    step = pytensor.function([X, Y], loss, updates=[(p, p - LR * g) for p, g in zip(shared, grads)])
    l0 = float(step(x, y))
    if compile_only:
        ms = (time.perf_counter() - t0) * 1e3
        emit("pytensor", "W4", ms, ms, close(l0, REF["W1_loss0"], 1e-4))
        return
    l1 = float(step(x, y))
    emit("pytensor", "W1", *timeit(lambda: step(x, y)), close(l0, REF["W1_loss0"], 1e-4) and close(l1, REF["W1_loss1"], 1e-4))
    x, y, ws, bs = mlp_data()
    consts = [pt.constant(v) for v in (ws[0], bs[0], ws[1], bs[1], ws[2], bs[2])]
    h = pt.maximum(X @ consts[0] + consts[1], 0)
    h = pt.maximum(h @ consts[2] + consts[3], 0)
    pr = pt.special.softmax(h @ consts[4] + consts[5], axis=1)
    fwd = pytensor.function([X], pr)
    emit("pytensor", "W1f", *timeit(lambda: fwd(x)), close(fwd(x)[:, 0].sum(), REF["W1f_sum"], 1e-4))
    a, b, c = chain_data()
    A, B, C = pt.vector(dtype="float32"), pt.vector(dtype="float32"), pt.vector(dtype="float32")
    ch = pytensor.function([A, B, C], pt.tanh(A * B + C) * pt.sigmoid(A) + np.float32(0.5) * A * A)
    emit("pytensor", "W2", *timeit(lambda: ch(a, b, c), budget=3.0), close(ch(a, b, c).astype(np.float64).sum(), REF["W2_sum"], 1e-4))


# ---------------------------------------------------------------- tensorflow
def run_tensorflow(quick, compile_only=False):
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    x, y, ws, bs = mlp_data()
    t0 = time.perf_counter()
    params = [tf.Variable(v) for v in (ws[0], bs[0], ws[1], bs[1], ws[2], bs[2])]
    xt, yt = tf.constant(x), tf.constant(y)

    def loss_fn(x, y):
        w1, b1, w2, b2, w3, b3 = params
        h = tf.nn.relu(x @ w1 + b1)
        h = tf.nn.relu(h @ w2 + b2)
        lg = h @ w3 + b3
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=lg))

    def make_step(jit):
        @tf.function(jit_compile=jit)
        def step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(x, y)
            for p, g in zip(params, tape.gradient(loss, params)):
                p.assign_sub(LR * g)
            return loss
        return step

    step = make_step(False)
    l0 = float(step(xt, yt))
    if compile_only:
        ms = (time.perf_counter() - t0) * 1e3
        emit("tensorflow", "W4", ms, ms, close(l0, REF["W1_loss0"], 1e-4))
        return
    l1 = float(step(xt, yt))
    emit("tensorflow", "W1", *timeit(lambda: step(xt, yt).numpy()), close(l0, REF["W1_loss0"], 1e-4) and close(l1, REF["W1_loss1"], 1e-4))
    a, b, c = [tf.constant(v) for v in chain_data()]
    ch = tf.function(lambda a, b, c: tf.tanh(a * b + c) * tf.sigmoid(a) + 0.5 * a * a)
    emit("tensorflow", "W2", *timeit(lambda: ch(a, b, c).numpy()), close(ch(a, b, c).numpy().astype(np.float64).sum(), REF["W2_sum"], 1e-4))
    chx = tf.function(lambda a, b, c: tf.tanh(a * b + c) * tf.sigmoid(a) + 0.5 * a * a, jit_compile=True)
    emit("tensorflow-xla", "W2", *timeit(lambda: chx(a, b, c).numpy()), close(chx(a, b, c).numpy().astype(np.float64).sum(), REF["W2_sum"], 1e-4))


# ---------------------------------------------------------------- torch
def run_torch(quick, compile_only=False):
    import torch
    torch.set_num_threads(2)
    x, y, ws, bs = mlp_data()
    params = [torch.tensor(v, requires_grad=True) for v in (ws[0], bs[0], ws[1], bs[1], ws[2], bs[2])]
    xt, yt = torch.tensor(x), torch.tensor(y).long()

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h = torch.relu(xt @ w1 + b1)
        h = torch.relu(h @ w2 + b2)
        loss = torch.nn.functional.cross_entropy(h @ w3 + b3, yt)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return float(loss)
    l0 = step(); l1 = step()
    emit("torch", "W1", *timeit(step), close(l0, REF["W1_loss0"], 1e-4) and close(l1, REF["W1_loss1"], 1e-4))
    a, b, c = [torch.tensor(v) for v in chain_data()]
    ch = lambda: torch.tanh(a * b + c) * torch.sigmoid(a) + 0.5 * a * a  # noqa: E731
    emit("torch", "W2", *timeit(ch), close(ch().double().sum().item(), REF["W2_sum"], 1e-4))
    xl, yl, lp = lenet_data()
    lp = [torch.tensor(v, requires_grad=True) for v in lp]
    xl, yl = torch.tensor(xl), torch.tensor(yl).long()
    F = torch.nn.functional

    def lstep():
        h = F.max_pool2d(F.relu(F.conv2d(xl, lp[0], lp[1])), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, lp[2], lp[3])), 2)
        h = F.relu(h.reshape(h.shape[0], -1) @ lp[4] + lp[5])
        loss = F.cross_entropy(h @ lp[6] + lp[7], yl)
        for p in lp:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in lp:
                p -= LR * p.grad
        return float(loss)
    l0 = lstep(); l1 = lstep()
    emit("torch", "W3", *timeit(lstep, budget=3.0), close(l0, REF["W3_loss0"], 1e-4) and close(l1, REF["W3_loss1"], 1e-4))


RUNNERS = {"numpy": run_numpy, "jax": run_jax, "pytensor": run_pytensor, "tensorflow": run_tensorflow, "torch": run_torch}

if __name__ == "__main__":
    fw = sys.argv[1]
    quick = "--quick" in sys.argv
    try:
        if "--compile-only" in sys.argv:
            RUNNERS[fw](quick, compile_only=True)
        elif "--w5" in sys.argv:
            run_w5(fw, int(sys.argv[sys.argv.index("--w5") + 1]))
        else:
            RUNNERS[fw](quick)
    except Exception as e:  # reported, not hidden
        print(json.dumps({"framework": fw, "workload": "error", "error": f"{type(e).__name__}: {e}"}), flush=True)
        sys.exit(1)
