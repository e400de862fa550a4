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

    /// `v ← v + alpha · op(a) × op(b)` (rank-2 operands, `v` of shape m × n): one GEMM with β = 1
    /// into `v`'s memory. When an operand overlaps `v` (a node built by hand), the product goes
    /// through a temporary first, so the operand is read before `v` changes.
    static func assignMatMul<T: KernelFloat>(_: T.Type, v: UnsafeMutableRawPointer, m: Int, n: Int, k: Int, alpha: Double,
                                             a: UnsafeRawPointer, transposeA ta: Bool, b: UnsafeRawPointer, transposeB tb: Bool) {
        if m == 0 || n == 0 || k == 0 { return }  // v + alpha · 0 = v
        let size = MemoryLayout<T>.stride
        let vLo = UInt(bitPattern: v), vHi = vLo + UInt(m * n * size)
        func overlaps(_ p: UnsafeRawPointer, _ count: Int) -> Bool {
            let lo = UInt(bitPattern: p), hi = lo + UInt(count * size)
            return lo < vHi && vLo < hi
        }
        let ap = a.assumingMemoryBound(to: T.self), bp = b.assumingMemoryBound(to: T.self)
        let cp = v.assumingMemoryBound(to: T.self)
        let lda = ta ? m : k, ldb = tb ? k : n
        if overlaps(a, m * k) || overlaps(b, k * n) {
            let tmp = UnsafeMutablePointer<T>.allocate(capacity: m * n)
            defer { tmp.deallocate() }
            T.gemm(ta, tb, m, n, k, T(alpha), ap, lda, bp, ldb, 0, tmp, n)
            for i in 0..<(m * n) { cp[i] += tmp[i] }
            return
        }
        T.gemm(ta, tb, m, n, k, T(alpha), ap, lda, bp, ldb, 1, cp, n)
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
