import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// A problem a kernel finds in the data at run time (an out-of-range index, …).
/// The plan runner turns it into a ``GraphError/node(_:)`` naming the instruction.
struct KernelFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// The floating-point element types kernels are written for (Float, Double).
protocol KernelFloat: BinaryFloatingPoint, TensorScalar {
    /// `e^x` (scalar).
    static func kExp(_ x: Self) -> Self
    /// Natural logarithm (scalar).
    static func kLog(_ x: Self) -> Self
    /// Row-major GEMM: `C = alpha * op(A) * op(B) + beta * C`.
    static func gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Self,
                     _ a: UnsafePointer<Self>, _ lda: Int, _ b: UnsafePointer<Self>, _ ldb: Int,
                     _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int)
}

extension Float: KernelFloat {
    @inline(__always) static func kExp(_ x: Float) -> Float { expf(x) }
    @inline(__always) static func kLog(_ x: Float) -> Float { logf(x) }
    static func gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                     _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                     _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        BLASSetup.once()
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}

extension Double: KernelFloat {
    @inline(__always) static func kExp(_ x: Double) -> Double { Glibc.exp(x) }
    @inline(__always) static func kLog(_ x: Double) -> Double { Glibc.log(x) }
    static func gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double,
                     _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
                     _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int) {
        BLASSetup.once()
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}

/// Sets OpenBLAS's thread count to ``Parallelism/threads`` once per process.
enum BLASSetup {
    private static let done: Bool = {
        openblas_set_num_threads(Int32(Parallelism.threads))
        return true
    }()
    /// Runs the setup the first time it is called (thread-safe: a lazy global).
    @inline(__always) static func once() { _ = done }
}

/// Stride and size helpers of the runtime's kernels.
enum Strides {
    /// Row-major (C order) strides, in elements.
    static func contiguous(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// Strides (in elements) that read `shape` broadcast to `outShape` (right-aligned, 0 on broadcast axes).
    static func broadcast(_ shape: [Int], to outShape: [Int]) -> [Int] {
        let st = contiguous(shape)
        let r = outShape.count, off = r - shape.count
        var out = [Int](repeating: 0, count: r)
        for i in 0..<r where i >= off {
            let d = shape[i - off]
            out[i] = (d == 1 && outShape[i] != 1) ? 0 : st[i - off]
        }
        return out
    }

    /// The product of sizes (an element count).
    @inline(__always) static func product(_ s: [Int]) -> Int { s.reduce(1, *) }
    /// The product of sizes (an element count).
    @inline(__always) static func product(_ s: ArraySlice<Int>) -> Int { s.reduce(1, *) }
}

/// The generic strided copy behind transpose, broadcast, slice, tile, pad and concat.
enum StridedCopy {
    /// Copies every element of `shape` from `src` (strides in elements, may be 0 or negative)
    /// to `dst` (strides in elements). Pointers point at the first element.
    static func copy(shape: [Int], src: UnsafeRawPointer, srcStrides: [Int], dst: UnsafeMutableRawPointer,
                     dstStrides: [Int], elementSize es: Int) {
        if shape.contains(0) { return }
        // Drop unit axes and merge axes that are contiguous in both source and destination.
        var n: [Int] = [], ss: [Int] = [], ds: [Int] = []
        for i in shape.indices where shape[i] != 1 {
            if let ln = n.last, let ls = ss.last, let ld = ds.last,
               srcStrides[i] * shape[i] == ls, dstStrides[i] * shape[i] == ld {
                _ = ln
                n[n.count - 1] *= shape[i]
                ss[ss.count - 1] = srcStrides[i]
                ds[ds.count - 1] = dstStrides[i]
            } else {
                n.append(shape[i]); ss.append(srcStrides[i]); ds.append(dstStrides[i])
            }
        }
        if n.isEmpty {
            dst.copyMemory(from: src, byteCount: es)
            return
        }
        let r = n.count
        let dims = n, sStr = ss, dStr = ds
        let inner = dims[r - 1], sIn = sStr[r - 1], dIn = dStr[r - 1]
        let rows = Strides.product(dims[0..<(r - 1)])
        let total = rows * inner
        let body: (Range<Int>) -> Void = { range in
            // Decompose the first row index into counters once, then increment.
            var idx = [Int](repeating: 0, count: max(r - 1, 0))
            var rem = range.lowerBound
            var sOff = 0, dOff = 0
            if r > 1 {
                for a in stride(from: r - 2, through: 0, by: -1) {
                    idx[a] = rem % dims[a]; rem /= dims[a]
                    sOff += idx[a] * sStr[a]; dOff += idx[a] * dStr[a]
                }
            }
            for _ in range {
                copyRow(src + sOff * es, sIn, dst + dOff * es, dIn, inner, es)
                var a = r - 2
                while a >= 0 {
                    idx[a] += 1; sOff += sStr[a]; dOff += dStr[a]
                    if idx[a] < dims[a] { break }
                    sOff -= sStr[a] * dims[a]; dOff -= dStr[a] * dims[a]; idx[a] = 0
                    a -= 1
                }
            }
        }
        if total >= 1 << 17 && rows >= 2 {
            Parallelism.forEachChunk(rows, minChunk: max(1, (1 << 16) / max(inner, 1)), body)
        } else {
            body(0..<rows)
        }
    }

    @inline(__always)
    private static func copyRow(_ s: UnsafeRawPointer, _ sStride: Int, _ d: UnsafeMutableRawPointer, _ dStride: Int,
                                _ n: Int, _ es: Int) {
        if sStride == 1 && dStride == 1 {
            d.copyMemory(from: s, byteCount: n * es)
            return
        }
        switch es {
        case 4: typedRow(s.assumingMemoryBound(to: UInt32.self), sStride, d.assumingMemoryBound(to: UInt32.self), dStride, n)
        case 8: typedRow(s.assumingMemoryBound(to: UInt64.self), sStride, d.assumingMemoryBound(to: UInt64.self), dStride, n)
        case 1: typedRow(s.assumingMemoryBound(to: UInt8.self), sStride, d.assumingMemoryBound(to: UInt8.self), dStride, n)
        default:
            for i in 0..<n { (d + i * dStride * es).copyMemory(from: s + i * sStride * es, byteCount: es) }
        }
    }

    @inline(__always)
    private static func typedRow<T>(_ s: UnsafePointer<T>, _ ss: Int, _ d: UnsafeMutablePointer<T>, _ ds: Int, _ n: Int) {
        if ss == 0 {
            let v = s[0]
            if ds == 1 { d.update(repeating: v, count: n) } else { for i in 0..<n { d[i * ds] = v } }
        } else if ds == 1 {
            for i in 0..<n { d[i] = s[i * ss] }
        } else {
            for i in 0..<n { d[i * ds] = s[i * ss] }
        }
    }

    /// Copies `src` (shape `shape`) broadcast to `outShape` into contiguous `dst`.
    static func broadcast(_ src: UnsafeRawPointer, shape: [Int], to dst: UnsafeMutableRawPointer, outShape: [Int], elementSize: Int) {
        copy(shape: outShape, src: src, srcStrides: Strides.broadcast(shape, to: outShape), dst: dst,
             dstStrides: Strides.contiguous(outShape), elementSize: elementSize)
    }

    /// Fills `count` elements of `dtype` with `value`.
    static func fill(_ dst: UnsafeMutableRawPointer, count: Int, dtype: DType, value: Double) {
        guard count > 0 else { return }
        switch dtype {
        case .float32: dst.assumingMemoryBound(to: Float.self).update(repeating: Float(value), count: count)
        case .float64: dst.assumingMemoryBound(to: Double.self).update(repeating: value, count: count)
        case .int32: dst.assumingMemoryBound(to: Int32.self).update(repeating: Int32(clamping: Int64(exactly: value.rounded(.towardZero)) ?? 0), count: count)
        case .int64: dst.assumingMemoryBound(to: Int64.self).update(repeating: Int64(exactly: value.rounded(.towardZero)) ?? 0, count: count)
        case .bool: dst.assumingMemoryBound(to: Bool.self).update(repeating: value != 0, count: count)
        }
    }
}
