import CBLAS
import SymGraph
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// W6: the machine's own ceilings, measured in the same run as the workloads they bound.
public enum Limits {
    /// The eight GEMMs of one W1 training step (forward 3, backward 5; dX is not needed), with
    /// the same shapes and transposes, through the same BLAS at the same thread count.
    public static func gemmOnlyW1Step(budget: Double) -> Timing {
        let (step, free) = gemmOnlyW1Runner()
        defer { free() }
        return measure(warmup: 5, minReps: 20, budget: budget, step)
    }

    /// One W1 step's eight GEMMs as a closure (and a closure freeing its buffers), for timing
    /// interleaved with other work.
    public static func gemmOnlyW1Runner() -> (step: () -> Void, free: () -> Void) {
        let b = 128
        let dims = [784, 512, 512, 10]
        func buf(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            for i in 0..<n { p[i] = Float(i % 7) * 0.01 }
            return p
        }
        let x = buf(b * 784)
        let w = (0..<3).map { buf(dims[$0] * dims[$0 + 1]) }
        let dw = (0..<3).map { buf(dims[$0] * dims[$0 + 1]) }
        let h = (0..<3).map { buf(b * dims[$0 + 1]) }
        let dh = (0..<3).map { buf(b * dims[$0 + 1]) }
        let rm = CblasRowMajor, nt = CblasNoTrans, tr = CblasTrans
        let free = { ([x] + w + dw + h + dh).forEach { $0.deallocate() } }
        let step = {
            // forward: h_i = in_i · W_i
            var input = UnsafePointer(x)
            for i in 0..<3 {
                cblas_sgemm(rm, nt, nt, Int32(b), Int32(dims[i + 1]), Int32(dims[i]), 1, input, Int32(dims[i]),
                            w[i], Int32(dims[i + 1]), 0, h[i], Int32(dims[i + 1]))
                input = UnsafePointer(h[i])
            }
            // backward: dW_i = in_iᵀ · dh_i (i = 2, 1, 0); dh_{i-1} = dh_i · W_iᵀ (i = 2, 1)
            for i in stride(from: 2, through: 0, by: -1) {
                let inp = i == 0 ? UnsafePointer(x) : UnsafePointer(h[i - 1])
                cblas_sgemm(rm, tr, nt, Int32(dims[i]), Int32(dims[i + 1]), Int32(b), 1, inp, Int32(dims[i]),
                            dh[i], Int32(dims[i + 1]), 0, dw[i], Int32(dims[i + 1]))
                if i > 0 {
                    cblas_sgemm(rm, nt, tr, Int32(b), Int32(dims[i]), Int32(dims[i + 1]), 1, dh[i], Int32(dims[i + 1]),
                                w[i], Int32(dims[i + 1]), 0, dh[i - 1], Int32(dims[i]))
                }
            }
        }
        return (step, free)
    }

    /// Copy bandwidth of a 256 MiB float32 buffer on all kernel threads, in GB/s (bytes read + written).
    public static func copyBandwidthGBps(budget: Double) -> Double {
        let bytes = 256 << 20
        let src = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let dst = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { src.deallocate(); dst.deallocate() }
        memset(src, 1, bytes)
        memset(dst, 0, bytes)
        nonisolated(unsafe) let s = src, d = dst
        let t = measure(warmup: 1, minReps: 5, maxReps: 20, budget: budget) {
            Parallelism.forEachChunk(bytes / 4096, minChunk: 1) { r in
                memcpy(d + r.lowerBound * 4096, s + r.lowerBound * 4096, r.count * 4096)
            }
        }
        return Double(2 * bytes) / (t.median * 1e-3) / 1e9
    }
}
