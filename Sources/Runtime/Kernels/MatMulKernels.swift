// Matrix products through OpenBLAS: matmul (batched, broadcast) and linear (GEMM + bias + activation).

enum MatMulKernels {
    /// `out = op(a) × op(b)` over the last two axes, leading axes broadcast as a batch.
    /// With `accumulate`, adds to what `out` holds (GEMM beta = 1).
    static func matmul<T: KernelFloat>(_: T.Type, a: UnsafeRawPointer, aShape: [Int], transposeA ta: Bool,
                                       b: UnsafeRawPointer, bShape: [Int], transposeB tb: Bool,
                                       out: UnsafeMutableRawPointer, outShape: [Int], accumulate: Bool = false) {
        let ra = aShape.count, rb = bShape.count, ro = outShape.count
        let m = outShape[ro - 2], n = outShape[ro - 1]
        let k = ta ? aShape[ra - 2] : aShape[ra - 1]
        let ap = a.assumingMemoryBound(to: T.self), bp = b.assumingMemoryBound(to: T.self)
        let cp = out.assumingMemoryBound(to: T.self)
        let total = Strides.product(outShape)
        if total == 0 { return }
        if k == 0 {
            if !accumulate { cp.update(repeating: 0, count: total) }
            return
        }
        let beta: T = accumulate ? 1 : 0
        let lda = ta ? m : k, ldb = tb ? k : n
        let batchA = Array(aShape.dropLast(2)), batchB = Array(bShape.dropLast(2)), batchO = Array(outShape.dropLast(2))
        let nA = Strides.product(batchA), nB = Strides.product(batchB), nO = Strides.product(batchO)
        if nB == 1 && !ta && nA == nO {
            // Fold the batch of A into M: one GEMM.
            T.gemm(false, tb, nA * m, n, k, 1, ap, lda, bp, ldb, beta, cp, n)
            return
        }
        if nA == 1 && nB == 1 {
            for i in 0..<nO { T.gemm(ta, tb, m, n, k, 1, ap, lda, bp, ldb, beta, cp + i * m * n, n) }
            return
        }
        let sa = Strides.broadcast(batchA, to: batchO), sb = Strides.broadcast(batchB, to: batchO)
        let rO = batchO.count
        var idx = [Int](repeating: 0, count: rO)
        for i in 0..<nO {
            var oa = 0, ob = 0
            for d in 0..<rO { oa += idx[d] * sa[d]; ob += idx[d] * sb[d] }
            T.gemm(ta, tb, m, n, k, 1, ap + oa * m * k, lda, bp + ob * k * n, ldb, beta, cp + i * m * n, n)
            var d = rO - 1
            while d >= 0 {
                idx[d] += 1
                if idx[d] < batchO[d] { break }
                idx[d] = 0
                d -= 1
            }
        }
        _ = rb
    }

    /// `out = activation(op(a) × op(b) + bias)`: bias broadcast into `out`, GEMM accumulates, activation in place.
    static func linear<T: KernelFloat>(_ t: T.Type, dtype: DType, a: UnsafeRawPointer, aShape: [Int], transposeA: Bool,
                                       b: UnsafeRawPointer, bShape: [Int], transposeB: Bool,
                                       bias: UnsafeRawPointer, biasShape: [Int], activation: UnaryFunction?,
                                       out: UnsafeMutableRawPointer, outShape: [Int]) {
        StridedCopy.broadcast(bias, shape: biasShape, to: out, outShape: outShape, elementSize: MemoryLayout<T>.size)
        matmul(t, a: a, aShape: aShape, transposeA: transposeA, b: b, bShape: bShape, transposeB: transposeB,
               out: out, outShape: outShape, accumulate: true)
        if let f = activation {
            ElementwiseKernels.unary(f, dtype: dtype, input: UnsafeRawPointer(out), output: out, count: Strides.product(outShape))
        }
    }
}
