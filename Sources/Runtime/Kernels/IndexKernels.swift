// Gather, its backward scatter-add, and oneHot.

enum IndexKernels {
    @inline(__always)
    static func index(_ p: UnsafeRawPointer, _ dtype: DType, _ j: Int) -> Int {
        dtype == .int32 ? Int(p.assumingMemoryBound(to: Int32.self)[j]) : Int(p.assumingMemoryBound(to: Int64.self)[j])
    }

    /// Checks every index is in `0..<limit`.
    static func checkIndices(_ p: UnsafeRawPointer, dtype: DType, count: Int, limit: Int, what: String) throws {
        for j in 0..<count {
            let v = index(p, dtype, j)
            if v < 0 || v >= limit {
                throw KernelFailure("\(what) index \(v) at position \(j) is out of range 0..<\(limit)")
            }
        }
    }

    /// `out[o, j, i] = params[o, idx[j], i]` for params [O, L, I] (I in elements of `elementSize` bytes).
    static func gather(params: UnsafeRawPointer, outer O: Int, length L: Int, inner I: Int, elementSize es: Int,
                       indices: UnsafeRawPointer, indexDType: DType, indexCount J: Int, out: UnsafeMutableRawPointer) throws {
        try checkIndices(indices, dtype: indexDType, count: J, limit: L, what: "gather")
        let rowBytes = I * es
        for o in 0..<O {
            for j in 0..<J {
                let k = index(indices, indexDType, j)
                (out + (o * J + j) * rowBytes).copyMemory(from: params + (o * L + k) * rowBytes, byteCount: rowBytes)
            }
        }
    }

    /// Zeros `out` [O, L, I], then `out[o, idx[j], i] += grad[o, j, i]`.
    static func gatherBackward<T: KernelFloat>(_: T.Type, grad: UnsafeRawPointer, outer O: Int, length L: Int, inner I: Int,
                                               indices: UnsafeRawPointer, indexDType: DType, indexCount J: Int,
                                               out: UnsafeMutableRawPointer) throws {
        try checkIndices(indices, dtype: indexDType, count: J, limit: L, what: "gather")
        let g = grad.assumingMemoryBound(to: T.self), d = out.assumingMemoryBound(to: T.self)
        d.update(repeating: 0, count: O * L * I)
        for o in 0..<O {
            for j in 0..<J {
                let k = index(indices, indexDType, j)
                let src = g + (o * J + j) * I, dst = d + (o * L + k) * I
                for i in 0..<I { dst[i] += src[i] }
            }
        }
    }

    /// One-hot rows: `out[j, c] = (idx[j] == c)`; out-of-range indices give zero rows.
    static func oneHot(indices: UnsafeRawPointer, indexDType: DType, count J: Int, depth D: Int, dtype: DType,
                       out: UnsafeMutableRawPointer) {
        StridedCopy.fill(out, count: J * D, dtype: dtype, value: 0)
        let one = HostTensor(filled: 1, dtype: dtype, shape: [])
        let es = dtype.byteSize
        for j in 0..<J {
            let k = index(indices, indexDType, j)
            if k >= 0 && k < D { (out + (j * D + k) * es).copyMemory(from: one.storage.pointer, byteCount: es) }
        }
    }
}
