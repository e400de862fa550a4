@_exported import Graph
@_exported import Optimizer
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Intra-op parallelism settings shared by every kernel.
public enum Parallelism {
    nonisolated(unsafe) private static var _threads: Int = defaultThreads()

    /// The number of threads kernels may use (BLAS and our own loops together).
    /// Defaults to the number of online CPUs, capped by `SYMGRAPH_NUM_THREADS` when set.
    public static var threads: Int { _threads }

    private static func defaultThreads() -> Int {
        let cpus = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        if let s = getenv("SYMGRAPH_NUM_THREADS"), let n = Int(String(cString: s)), n > 0 { return min(n, cpus) }
        return cpus
    }

    /// Runs `body` over `0..<count` split into at most `threads` contiguous chunks of at least
    /// `minChunk` items; runs inline when there is only one chunk.
    @inlinable
    public static func forEachChunk(_ count: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
        let chunks = min(threads, max(1, count / max(minChunk, 1)))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            nonisolated(unsafe) let b = escaping
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = count * c / chunks, hi = count * (c + 1) / chunks
                if lo < hi { b(lo..<hi) }
            }
        }
    }
}
