// Reductions of a contiguous buffer over a set of axes (used by fusedReduce).
#if canImport(Glibc)
import Glibc
#endif
import CKernels

/// Reductions over axes of a row-major buffer. Floats accumulate in Double, integers in
/// (wrapping) Int64; `max`/`min` propagate NaN; empty reductions give the identity
/// (sum 0, prod 1, max -inf / Int.min, min +inf / Int.max, mean NaN, logsumexp -inf).
enum ElementwiseReduce {
    static func reduce(_ f: ReduceFunction, dtype: DType, input: UnsafeRawPointer, inShape: [Int], axes: [Int],
                       output: UnsafeMutableRawPointer) {
        // Collapse adjacent axes with the same reduced status; drop size-1 axes.
        let axisSet = Set(axes)
        var dims = [(size: Int, reduced: Bool)]()
        for (d, n) in inShape.enumerated() where n != 1 {
            let r = axisSet.contains(d)
            if let l = dims.last, l.reduced == r { dims[dims.count - 1].size *= n } else { dims.append((n, r)) }
        }
        let total = inShape.reduce(1, *)
        let reducedCount = inShape.enumerated().reduce(1) { axisSet.contains($1.offset) ? $0 * $1.element : $0 }
        let outCount = reducedCount == 0 ? inShape.enumerated().reduce(1) { axisSet.contains($1.offset) ? $0 : $0 * $1.element }
                                         : total / Swift.max(reducedCount, 1)
        // Output strides over the collapsed dims (0 on reduced ones).
        var oStrides = [Int](repeating: 0, count: dims.count)
        var s = 1
        for d in stride(from: dims.count - 1, through: 0, by: -1) where !dims[d].reduced {
            oStrides[d] = s
            s *= dims[d].size
        }
        if dtype.isFloatingPoint {
            var acc = [Double](repeating: 0, count: outCount)
            let initial: Double
            switch f {
            case .sum, .mean, .logsumexp: initial = 0
            case .prod: initial = 1
            case .max: initial = -.infinity
            case .min: initial = .infinity
            }
            for i in 0..<outCount { acc[i] = initial }
            var maxes = [Double]()
            if f == .logsumexp {
                maxes = [Double](repeating: -.infinity, count: outCount)
                walk(dims, oStrides, total) { base, o, run, inner in
                    for j in 0..<run {
                        let x = loadF(dtype, input, base + j)
                        let k = o + j * inner
                        if x > maxes[k] || x.isNaN { maxes[k] = x }
                    }
                }
            }
            walk(dims, oStrides, total) { base, o, run, inner in
                if inner == 0 && (f == .sum || f == .mean) {
                    // A contiguous run into one output: vectorized sum.
                    let v = dtype == .float32
                        ? sg_sum_f32((input + base * 4).assumingMemoryBound(to: Float.self), Int64(run))
                        : sg_sum_f64((input + base * 8).assumingMemoryBound(to: Double.self), Int64(run))
                    acc[o] += v
                    return
                }
                for j in 0..<run {
                    let x = loadF(dtype, input, base + j)
                    let k = o + j * inner
                    switch f {
                    case .sum, .mean: acc[k] += x
                    case .prod: acc[k] *= x
                    case .max: let a = acc[k]; acc[k] = a.isNaN || x.isNaN ? .nan : Swift.max(a, x)
                    case .min: let a = acc[k]; acc[k] = a.isNaN || x.isNaN ? .nan : Swift.min(a, x)
                    case .logsumexp:
                        let m = maxes[k]
                        acc[k] += m.isFinite ? Glibc.exp(x - m) : 0
                    }
                }
            }
            for k in 0..<outCount {
                var v = acc[k]
                if f == .mean { v = reducedCount > 0 ? v / Double(reducedCount) : .nan }
                if f == .logsumexp { let m = maxes[k]; v = m.isFinite ? m + Glibc.log(v) : (m.isNaN ? m : (m > 0 ? m : -.infinity)) }
                if dtype == .float32 { output.storeBytes(of: Float(v), toByteOffset: k * 4, as: Float.self) }
                else { output.storeBytes(of: v, toByteOffset: k * 8, as: Double.self) }
            }
        } else {
            let lo: Int64 = dtype == .int32 ? Int64(Int32.min) : .min
            let hi: Int64 = dtype == .int32 ? Int64(Int32.max) : .max
            let initial: Int64
            switch f {
            case .sum, .mean, .logsumexp: initial = 0
            case .prod: initial = 1
            case .max: initial = lo
            case .min: initial = hi
            }
            var acc = [Int64](repeating: initial, count: outCount)
            walk(dims, oStrides, total) { base, o, run, inner in
                for j in 0..<run {
                    let x = dtype == .int32 ? Int64(input.load(fromByteOffset: (base + j) * 4, as: Int32.self))
                                            : input.load(fromByteOffset: (base + j) * 8, as: Int64.self)
                    let k = o + j * inner
                    switch f {
                    case .sum, .mean, .logsumexp: acc[k] = acc[k] &+ x
                    case .prod: acc[k] = acc[k] &* x
                    case .max: acc[k] = Swift.max(acc[k], x)
                    case .min: acc[k] = Swift.min(acc[k], x)
                    }
                }
            }
            for k in 0..<outCount {
                var v = acc[k]
                if f == .mean { v = reducedCount > 0 ? v / Int64(reducedCount) : 0 }
                if dtype == .int32 { output.storeBytes(of: Int32(truncatingIfNeeded: v), toByteOffset: k * 4, as: Int32.self) }
                else { output.storeBytes(of: v, toByteOffset: k * 8, as: Int64.self) }
            }
        }
    }

    @inline(__always)
    static func loadF(_ dtype: DType, _ p: UnsafeRawPointer, _ i: Int) -> Double {
        dtype == .float32 ? Double(p.load(fromByteOffset: i * 4, as: Float.self)) : p.load(fromByteOffset: i * 8, as: Double.self)
    }

    /// Visits the input in row-major order as runs along the innermost collapsed axis:
    /// `body(inputOffset, outputOffset, runLength, outputStrideAlongRun)`.
    static func walk(_ dims: [(size: Int, reduced: Bool)], _ oStrides: [Int], _ total: Int,
                     _ body: (Int, Int, Int, Int) -> Void) {
        guard total > 0 else { return }
        guard let lastDim = dims.last else { body(0, 0, 1, 0); return }
        let r = dims.count
        let run = lastDim.size
        let inner = oStrides[r - 1]
        var idx = [Int](repeating: 0, count: r)
        var base = 0, o = 0
        while base < total {
            body(base, o, run, inner)
            base += run
            var d = r - 2
            while d >= 0 {
                idx[d] += 1
                o += oStrides[d]
                if idx[d] < dims[d].size { break }
                o -= oStrides[d] * dims[d].size
                idx[d] = 0
                d -= 1
            }
            if d < 0 { break }
        }
    }
}
