import XCTest
@testable import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// Fused programs and fused reductions against a Double evaluation of the same composition.
final class ElementwiseFusedTests: XCTestCase {
    /// Evaluates a program element by element in Double (rounding each step to its dtype).
    func reference(_ p: FusedProgram, _ ins: [EWBuffer], _ outShape: [Int]) -> [Double] {
        let n = outShape.reduce(1, *)
        return (0..<n).map { i in
            let idx = EWRef.multiIndex(i, outShape)
            var r = [Double]()
            for (s, step) in p.steps.enumerated() {
                let dt = p.dtypes[s]
                var v: Double
                switch step {
                case .input(let k): v = ins[k][EWRef.index(idx, ins[k].shape)]
                case .constant(let c): v = c
                case .unary(let f, let a): v = EWRef.unary(f, r[a])
                case .binary(let f, let a, let b): v = EWRef.binary(f, r[a], r[b], integer: p.dtypes[a].isInteger)
                case .select(let c, let a, let b): v = r[c] != 0 ? r[a] : r[b]
                case .cast(let d, let a):
                    v = r[a]
                    if d.isInteger { v = v.isNaN ? 0 : v.rounded(.towardZero) }
                }
                v = EWRef.round(v, dt)
                r.append(v)
            }
            return r[r.count - 1]
        }
    }

    func run(_ p: FusedProgram, _ ins: [EWBuffer], _ outShape: [Int]) -> EWBuffer {
        var out = EWBuffer(zeros: p.resultDType, outShape)
        let datas = ins.map { b -> UnsafeMutableRawPointer in
            let m = UnsafeMutableRawPointer.allocate(byteCount: b.bytes.count, alignment: 64)
            b.bytes.withUnsafeBytes { m.copyMemory(from: $0.baseAddress!, byteCount: b.bytes.count) }
            return m
        }
        defer { datas.forEach { $0.deallocate() } }
        out.bytes.withUnsafeMutableBytes { op in
            ElementwiseKernels.fused(p, inputs: zip(datas, ins).map { (UnsafeRawPointer($0.0), $0.1.shape) },
                                     output: op.baseAddress!, outShape: outShape)
        }
        return out
    }

    /// out = tanh(x*y + z) * sigmoid(x) + 0.5*x*x (workload W2).
    static let w2 = FusedProgram(steps: [
        .input(0), .input(1), .input(2), .binary(.mul, 0, 1), .binary(.add, 3, 2), .unary(.tanh, 4), .unary(.sigmoid, 0),
        .binary(.mul, 5, 6), .constant(0.5), .binary(.mul, 8, 0), .binary(.mul, 9, 0), .binary(.add, 7, 10),
    ], dtypes: [DType](repeating: .float32, count: 12))

    func check(_ p: FusedProgram, _ shapes: [[Int]], seed: UInt64, dtypes: [DType]? = nil, file: StaticString = #filePath, line: UInt = #line) {
        var rng = EWRandom(seed)
        let ins = shapes.enumerated().map { k, s in
            let dt = dtypes?[k] ?? .float32
            return EWBuffer(dt, s, (0..<s.reduce(1, *)).map { _ in
                dt.isInteger ? Double(rng.int(-20, 20)) : (dt == .bool ? Double(rng.int(0, 1)) : EWRef.round(rng.uniform(-2, 2), dt))
            })
        }
        let outShape = EWRef.broadcast(shapes)
        let got = run(p, ins, outShape)
        let ref = reference(p, ins, outShape)
        XCTAssertEqual(got.count, ref.count)
        for i in 0..<ref.count {
            let tol = p.resultDType == .float32 ? 1e-5 * Swift.max(1, Swift.abs(ref[i])) : 1e-12 * Swift.max(1, Swift.abs(ref[i]))
            XCTAssert(Swift.abs(got[i] - ref[i]) <= tol || (got[i].isNaN && ref[i].isNaN),
                      "\(shapes) [\(i)]: got \(got[i]) expected \(ref[i])", file: file, line: line)
        }
    }

    func testW2SameShapeAndOddSizes() {
        for n in [0, 1, 7, 17, 1000, 1024, 1025, 4099, 100_003] {
            check(Self.w2, [[n], [n], [n]], seed: UInt64(n) + 1)
        }
    }

    func testW2Broadcasting() {
        check(Self.w2, [[64, 33], [33], [64, 1]], seed: 11)
        check(Self.w2, [[5, 7], [], [5, 7]], seed: 12)
        check(Self.w2, [[], [3], [2, 1]], seed: 13)
        check(Self.w2, [[2, 3, 4], [3, 1], [4]], seed: 14)
        check(Self.w2, [[300, 301], [301], []], seed: 15)        // large: parallel chunks, row bias, scalar
        check(Self.w2, [[1, 1030], [7, 1], [7, 1030]], seed: 16)   // tile boundaries inside rows
    }

    func testMixedDTypeProgram() {
        // where(x > y, x, y) -> int32 * 3 -> float64 + 0.25; plus logical ops and a bool cast.
        let p = FusedProgram(steps: [
            .input(0), .input(1), .binary(.greater, 0, 1), .select(2, 0, 1), .cast(.int32, 3), .constant(3),
            .binary(.mul, 4, 5), .cast(.float64, 6), .constant(0.25), .binary(.add, 7, 8),
        ], dtypes: [.float32, .float32, .bool, .float32, .int32, .int32, .int32, .float64, .float64, .float64])
        for n in [1, 7, 4099, 70_001] { check(p, [[n], [n]], seed: UInt64(n)) }
        check(p, [[9, 4], [4]], seed: 3)
        let q = FusedProgram(steps: [
            .input(0), .input(1), .binary(.logicalAnd, 0, 1), .unary(.logicalNot, 2), .input(2), .constant(0),
            .binary(.less, 4, 5), .binary(.logicalOr, 3, 6), .cast(.int64, 7), .input(2), .binary(.div, 9, 8),
        ], dtypes: [.bool, .bool, .bool, .bool, .int64, .int64, .bool, .bool, .int64, .int64, .int64])
        check(q, [[17], [1], [17]], seed: 4, dtypes: [.bool, .bool, .int64])
    }

    func testTrivialAndLongPrograms() {
        // The result is an input (a copy) or uses a constant.
        check(FusedProgram(steps: [.input(0)], dtypes: [.float32]), [[3, 5]], seed: 1)
        check(FusedProgram(steps: [.input(0), .constant(2), .binary(.mul, 0, 1)], dtypes: [.float64, .float64, .float64]), [[5, 3]],
              seed: 2, dtypes: [.float64])
        // A long chain that reuses scratch slots.
        var steps: [FusedProgram.Step] = [.input(0), .input(1)]
        for k in 0..<40 {
            let a = steps.count - 1, b = steps.count - 2
            switch k % 4 {
            case 0: steps.append(.binary(.add, a, b))
            case 1: steps.append(.unary(.sin, a))
            case 2: steps.append(.binary(.mul, a, 0))
            default: steps.append(.unary(.tanh, a))
            }
        }
        let long = FusedProgram(steps: steps, dtypes: [DType](repeating: .float32, count: steps.count))
        check(long, [[5000], [5000]], seed: 5)
        check(long, [[50, 100], [100]], seed: 6)
    }

    func testLargeOutputStreamedAndUnaligned() {
        // Big enough (> 32 MiB touched) for non-temporal output stores; the output pointer is
        // deliberately not 64-byte aligned.
        let n = 2_200_001
        let p = FusedProgram(steps: [.input(0), .input(1), .binary(.mul, 0, 1), .input(2), .binary(.add, 2, 3)],
                             dtypes: [DType](repeating: .float32, count: 5))
        let xs = (0..<n).map { Float($0 % 1001) / 100 - 5 }
        let ys = (0..<n).map { Float($0 % 997) / 300 }
        let zs = (0..<n).map { Float($0 % 13) }
        let out = UnsafeMutableRawPointer.allocate(byteCount: (n + 1) * 4, alignment: 64)
        defer { out.deallocate() }
        xs.withUnsafeBytes { xp in ys.withUnsafeBytes { yp in zs.withUnsafeBytes { zp in
            ElementwiseKernels.fused(p, inputs: [(xp.baseAddress!, [n]), (yp.baseAddress!, [n]), (zp.baseAddress!, [n])],
                                     output: out + 4, outShape: [n])
        } } }
        let o = (out + 4).assumingMemoryBound(to: Float.self)
        var bad = 0
        for i in 0..<n where o[i] != xs[i] * ys[i] + zs[i] { bad += 1 }
        XCTAssertEqual(bad, 0)
    }

    func testMalformedProgramDoesNotTrap() {
        // Reads a missing input / a later step: nothing is computed, nothing traps.
        var out = [Float](repeating: 7, count: 4)
        let x: [Float] = [1, 2, 3, 4]
        for p in [FusedProgram(steps: [.input(3)], dtypes: [.float32]),
                  FusedProgram(steps: [.input(0), .binary(.add, 0, 2), .unary(.exp, 1)], dtypes: [.float32, .float32, .float32])] {
            x.withUnsafeBytes { xp in
                out.withUnsafeMutableBytes { op in
                    ElementwiseKernels.fused(p, inputs: [(xp.baseAddress!, [4])], output: op.baseAddress!, outShape: [4])
                }
            }
        }
        XCTAssertEqual(out, [7, 7, 7, 7])
    }

    // MARK: fusedReduce

    func testFusedReduceAllFunctionsAndAxes() {
        let p = FusedProgram(steps: [.input(0), .input(1), .binary(.mul, 0, 1), .constant(1), .binary(.add, 2, 3)],
                             dtypes: [DType](repeating: .float32, count: 5))
        var rng = EWRandom(9)
        let inShape = [4, 5, 6]
        let x = EWBuffer(.float32, inShape, (0..<120).map { _ in EWRef.round(rng.uniform(-1, 1), .float32) })
        let y = EWBuffer(.float32, [5, 1], (0..<5).map { _ in EWRef.round(rng.uniform(-1, 1), .float32) })
        let vals = reference(p, [x, y], inShape)
        let datas = [x, y].map { b -> UnsafeMutableRawPointer in
            let m = UnsafeMutableRawPointer.allocate(byteCount: b.bytes.count, alignment: 64)
            b.bytes.withUnsafeBytes { m.copyMemory(from: $0.baseAddress!, byteCount: b.bytes.count) }
            return m
        }
        defer { datas.forEach { $0.deallocate() } }
        for f in ReduceFunction.allCases {
            for axes in [[], [0], [1], [2], [0, 2], [1, 2], [0, 1], [0, 1, 2]] {
                let outShape = inShape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
                var out = EWBuffer(zeros: .float32, outShape)
                out.bytes.withUnsafeMutableBytes { op in
                    ElementwiseKernels.fusedReduce(f, axes: axes, program: p, inputs: [(UnsafeRawPointer(datas[0]), x.shape),
                                                                                     (UnsafeRawPointer(datas[1]), y.shape)],
                                                   output: op.baseAddress!, inShape: inShape)
                }
                // Reference: group the values by kept index.
                var groups = [[Double]](repeating: [], count: outShape.reduce(1, *))
                for i in 0..<vals.count {
                    let idx = EWRef.multiIndex(i, inShape)
                    let kept = idx.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
                    var o = 0
                    for (d, n) in outShape.enumerated() { o = o * n + kept[d] }
                    groups[o].append(vals[i])
                }
                for (o, g) in groups.enumerated() {
                    let ref: Double
                    switch f {
                    case .sum: ref = g.reduce(0, +)
                    case .mean: ref = g.reduce(0, +) / Double(g.count)
                    case .max: ref = g.max() ?? -.infinity
                    case .min: ref = g.min() ?? .infinity
                    case .prod: ref = g.reduce(1, *)
                    case .logsumexp:
                        let m = g.max() ?? 0
                        ref = m + Glibc.log(g.map { Glibc.exp($0 - m) }.reduce(0, +))
                    }
                    XCTAssertEqual(out[o], ref, accuracy: 1e-5 * Swift.max(1, Swift.abs(ref)), "\(f) axes \(axes) [\(o)]")
                }
            }
        }
    }

    func testFusedReduceLargeAndInteger() {
        // Full sum of a large program (parallel materialization + vectorized sum).
        let n = 200_003
        let p = FusedProgram(steps: [.input(0), .unary(.square, 0)], dtypes: [.float32, .float32])
        let xs = (0..<n).map { Float(($0 % 1000)) / 1000 }
        var out: Float = 0
        xs.withUnsafeBytes { xp in
            withUnsafeMutableBytes(of: &out) { op in
                ElementwiseKernels.fusedReduce(.sum, axes: [0], program: p, inputs: [(xp.baseAddress!, [n])], output: op.baseAddress!, inShape: [n])
            }
        }
        let ref = xs.reduce(0.0) { $0 + Double($1) * Double($1) }
        XCTAssertEqual(Double(out), ref, accuracy: 1e-6 * ref)
        // Row sums and means of a large program (rows split across threads; rows straddle blocks).
        let rows = 37, cols = 9001
        let ys = (0..<(rows * cols)).map { Float(($0 * 7) % 101) / 50 - 1 }
        for f in [ReduceFunction.sum, .mean] {
            var o = [Float](repeating: 0, count: rows)
            ys.withUnsafeBytes { yp in
                o.withUnsafeMutableBytes { op in
                    ElementwiseKernels.fusedReduce(f, axes: [1], program: p, inputs: [(yp.baseAddress!, [rows, cols])],
                                                   output: op.baseAddress!, inShape: [rows, cols])
                }
            }
            for r in 0..<rows {
                var ref = 0.0
                for c in 0..<cols { let v = Double(ys[r * cols + c]); ref += v * v }
                if f == .mean { ref /= Double(cols) }
                XCTAssertEqual(Double(o[r]), ref, accuracy: 1e-6 * Swift.max(1, ref), "\(f) row \(r)")
            }
        }
        // Integer sum / max over a row.
        let q = FusedProgram(steps: [.input(0), .constant(2), .binary(.mul, 0, 1)], dtypes: [.int32, .int32, .int32])
        let ints: [Int32] = [1, -5, 7, 3, 2, 9]
        for (f, expect) in [(ReduceFunction.sum, [6, 28]), (.max, [14, 18]), (.min, [-10, 4])] {
            var o = [Int32](repeating: 0, count: 2)
            ints.withUnsafeBytes { ip in
                o.withUnsafeMutableBytes { op in
                    ElementwiseKernels.fusedReduce(f, axes: [1], program: q, inputs: [(ip.baseAddress!, [2, 3])], output: op.baseAddress!, inShape: [2, 3])
                }
            }
            XCTAssertEqual(o.map(Int.init), expect, "\(f)")
        }
    }
}
