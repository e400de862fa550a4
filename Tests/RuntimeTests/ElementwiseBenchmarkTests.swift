import XCTest
import Dispatch
@testable import Runtime
import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// Kernel timings for docs/performance.md. Skipped unless `SYMGRAPH_EW_BENCH=1`; run with
/// `SYMGRAPH_EW_BENCH=1 swift test -c release --filter ElementwiseBenchmarkTests` (add
/// `SYMGRAPH_NUM_THREADS=1` for one thread). Prints numbers; asserts only correctness.
final class ElementwiseBenchmarkTests: XCTestCase {
    /// Minimum and median wall time (ms), and the minimum CPU time of the calling thread (ms;
    /// meaningful with SYMGRAPH_NUM_THREADS=1: it excludes time the thread was preempted).
    func time(_ reps: Int = 30, _ body: () -> Void) -> (min: Double, median: Double, cpu: Double) {
        body()
        var all = [Double]()
        var cpu = Double.infinity
        for _ in 0..<reps {
            var c0 = timespec(), c1 = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0)
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1)
            cpu = Swift.min(cpu, Double(c1.tv_sec - c0.tv_sec) * 1e3 + Double(c1.tv_nsec - c0.tv_nsec) / 1e6)
            all.append(dt)
        }
        all.sort()
        return (all[0], all[all.count / 2], cpu)
    }

    func report(_ name: String, _ t: (min: Double, median: Double, cpu: Double), bytes: Int) {
        func f(_ v: Double) -> String { String(Double(Int(v * 100)) / 100) }
        print(String(describing: "bench \(name): min \(f(t.min)) ms (\(f(Double(bytes) / t.min / 1e6)) GB/s), median \(f(t.median)) ms, thread cpu \(f(t.cpu)) ms"))
    }

    func testW2AndFriends() throws {
        guard getenv("SYMGRAPH_EW_BENCH") != nil else { throw XCTSkip("set SYMGRAPH_EW_BENCH=1 to run the kernel benchmarks") }
        print("bench cpu level: \(String(cString: sg_kernels_cpu_level())), threads \(Parallelism.threads)")
        let n = 4_194_304
        let data = [21, 22, 23].map { DeterministicRandom.uniformFloats(count: n, seed: UInt64($0), low: -2, high: 2) }
        let ins = data.map { d -> UnsafeMutableRawPointer in
            let p = UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64)
            d.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: n * 4) }
            return p
        }
        let out = UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64)
        memset(out, 0, n * 4)
        defer { ins.forEach { $0.deallocate() }; out.deallocate() }
        let inputs = ins.map { (pointer: UnsafeRawPointer($0), shape: [n]) }
        let p = ElementwiseFusedTests.w2
        let bytes = 4 * n * 4

        let fused = time { ElementwiseKernels.fused(p, inputs: inputs, output: out, outShape: [n]) }
        var sum = 0.0
        let o = out.assumingMemoryBound(to: Float.self)
        for i in 0..<n { sum += Double(o[i]) }
        print("bench W2 sum(out) = \(sum) (reference 2795834.20443243)")
        XCTAssertEqual(sum, 2795834.20443243, accuracy: 2795834.0 * 1e-5)
        report("W2 fused into an existing buffer", fused, bytes: bytes)

        let alloc = time {
            let t = TensorStorage(uninitializedByteCount: n * 4)
            ElementwiseKernels.fused(p, inputs: inputs, output: t.pointer, outShape: [n])
        }
        report("W2 fused, new output each call", alloc, bytes: bytes)

        // Op by op (an unfused interpreter with full-size temporaries), for comparison.
        let tmp = (0..<3).map { _ in UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64) }
        defer { tmp.forEach { $0.deallocate() } }
        let x = inputs[0].pointer, y = inputs[1].pointer, z = inputs[2].pointer
        let opByOp = time {
            ElementwiseKernels.binary(.mul, dtype: .float32, a: x, aShape: [n], b: y, bShape: [n], output: tmp[0], outShape: [n])
            ElementwiseKernels.binary(.add, dtype: .float32, a: tmp[0], aShape: [n], b: z, bShape: [n], output: tmp[0], outShape: [n])
            ElementwiseKernels.unary(.tanh, dtype: .float32, input: tmp[0], output: tmp[0], count: n)
            ElementwiseKernels.unary(.sigmoid, dtype: .float32, input: x, output: tmp[1], count: n)
            ElementwiseKernels.binary(.mul, dtype: .float32, a: tmp[0], aShape: [n], b: tmp[1], bShape: [n], output: tmp[0], outShape: [n])
            ElementwiseKernels.binary(.mul, dtype: .float32, a: x, aShape: [n], b: x, bShape: [n], output: tmp[1], outShape: [n])
            var half: Float = 0.5
            withUnsafeBytes(of: &half) { h in
                ElementwiseKernels.binary(.mul, dtype: .float32, a: tmp[1], aShape: [n], b: h.baseAddress!, bShape: [], output: tmp[1], outShape: [n])
            }
            ElementwiseKernels.binary(.add, dtype: .float32, a: tmp[0], aShape: [n], b: tmp[1], bShape: [n], output: tmp[2], outShape: [n])
        }
        report("W2 op by op (8 kernels, full temporaries)", opByOp, bytes: bytes)

        // memcpy of the same number of bytes (read 2N floats, write 2N floats).
        let src = UnsafeMutableRawPointer.allocate(byteCount: 2 * n * 4, alignment: 64)
        let dst = UnsafeMutableRawPointer.allocate(byteCount: 2 * n * 4, alignment: 64)
        memset(src, 1, 2 * n * 4); memset(dst, 0, 2 * n * 4)
        defer { src.deallocate(); dst.deallocate() }
        let copy1 = time { memcpy(dst, src, 2 * n * 4) }
        report("memcpy of the same bytes, 1 thread", copy1, bytes: bytes)
        let copy2 = time {
            Parallelism.forEachChunk(2 * n, minChunk: 1 << 16) { r in memcpy(dst + r.lowerBound * 4, src + r.lowerBound * 4, r.count * 4) }
        }
        report("memcpy of the same bytes, all threads", copy2, bytes: bytes)

        // Single kernels.
        let t1 = time { ElementwiseKernels.unary(.tanh, dtype: .float32, input: x, output: out, count: n) }
        report("tanh f32 4M", t1, bytes: 2 * n * 4)
        let t2 = time { ElementwiseKernels.unary(.exp, dtype: .float32, input: x, output: out, count: n) }
        report("exp f32 4M", t2, bytes: 2 * n * 4)
        let t2b = time { ElementwiseKernels.unary(.gelu, dtype: .float32, input: x, output: out, count: n) }
        report("gelu f32 4M", t2b, bytes: 2 * n * 4)
        let t3 = time { ElementwiseKernels.binary(.add, dtype: .float32, a: x, aShape: [n], b: y, bShape: [n], output: out, outShape: [n]) }
        report("add f32 same shape 4M", t3, bytes: 3 * n * 4)
        let t4 = time { ElementwiseKernels.binary(.add, dtype: .float32, a: x, aShape: [4096, 1024], b: y, bShape: [1024], output: out, outShape: [4096, 1024]) }
        report("add f32 row bias [4096,1024]+[1024]", t4, bytes: 2 * n * 4)
        let t5 = time { ElementwiseKernels.binary(.mul, dtype: .float32, a: x, aShape: [4096, 1024], b: y, bShape: [4096, 1], output: out, outShape: [4096, 1024]) }
        report("mul f32 column [4096,1024]*[4096,1]", t5, bytes: 2 * n * 4)
        var s: Float = 0
        let t6 = time {
            withUnsafeMutableBytes(of: &s) { sp in
                ElementwiseKernels.fusedReduce(.sum, axes: [0], program: FusedProgram(steps: [.input(0), .input(1), .binary(.mul, 0, 1)],
                                                                                   dtypes: [.float32, .float32, .float32]),
                                               inputs: [inputs[0], inputs[1]], output: sp.baseAddress!, inShape: [n])
            }
        }
        report("fusedReduce sum(x*y) 4M", t6, bytes: 2 * n * 4)
        let t7 = time { ElementwiseKernels.cast(from: .float32, to: .int32, input: x, output: out, count: n) }
        report("cast f32->i32 4M", t7, bytes: 2 * n * 4)
    }
}
