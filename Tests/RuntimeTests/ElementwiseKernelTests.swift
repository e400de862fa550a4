import XCTest
@testable import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// ElementwiseKernels against Float64 references: every function, dtype, broadcasting form,
/// odd sizes, in place, special values, fused programs and fused reductions.
final class ElementwiseKernelTests: XCTestCase {
    static let floatFunctions: [UnaryFunction] = [
        .neg, .abs, .sign, .exp, .log, .log1p, .expm1, .sqrt, .rsqrt, .square, .reciprocal, .sin, .cos, .tanh,
        .sigmoid, .relu, .leakyRelu(alpha: 0.1), .elu(alpha: 1.5), .softplus, .erf, .gelu, .floor, .ceil, .round,
    ]
    static let intFunctions: [UnaryFunction] = [.neg, .abs, .sign, .square, .relu, .floor, .ceil, .round]
    static let sizes = [0, 1, 7, 17, 1000, 4099]

    /// A domain where the function is defined and interesting.
    static func domain(_ f: UnaryFunction) -> (Double, Double) {
        switch f {
        case .log, .sqrt, .rsqrt: return (1e-3, 100)
        case .log1p: return (-0.99, 100)
        case .exp, .expm1: return (-80, 80)
        case .sin, .cos: return (-100, 100)
        case .reciprocal: return (0.1, 10)
        case .softplus, .sigmoid, .tanh: return (-30, 30)
        case .gelu, .erf: return (-8, 8)
        default: return (-10, 10)
        }
    }

    func runUnary(_ f: UnaryFunction, _ dtype: DType, _ xs: [Double], inPlace: Bool = false) -> [Double] {
        var x = EWBuffer(dtype, [xs.count], xs)
        var y = EWBuffer(zeros: dtype, [xs.count])
        if inPlace {
            x.bytes.withUnsafeMutableBytes { p in
                ElementwiseKernels.unary(f, dtype: dtype, input: UnsafeRawPointer(p.baseAddress!), output: p.baseAddress!, count: xs.count)
            }
            return x.values
        }
        x.bytes.withUnsafeBytes { xp in
            y.bytes.withUnsafeMutableBytes { yp in
                ElementwiseKernels.unary(f, dtype: dtype, input: xp.baseAddress!, output: yp.baseAddress!, count: xs.count)
            }
        }
        return y.values
    }

    func testUnaryFloatFunctionsAllSizes() {
        var rng = EWRandom(1)
        for dtype in [DType.float32, .float64] {
            for f in Self.floatFunctions {
                let (lo, hi) = Self.domain(f)
                for n in Self.sizes {
                    var xs = (0..<n).map { _ in rng.uniform(lo, hi) }
                    if f == .reciprocal { xs = xs.enumerated().map { $0.offset % 2 == 0 ? $0.element : -$0.element } }
                    xs = xs.map { EWRef.round($0, dtype) }
                    let ys = runUnary(f, dtype, xs)
                    for i in 0..<n {
                        let ref = EWRef.round(EWRef.unary(f, xs[i]), dtype == .float32 ? .float64 : dtype)
                        assertClose(ys[i], ref, dtype: dtype, "\(f.name) \(dtype) n=\(n) x=\(xs[i])")
                    }
                }
            }
        }
    }

    func testUnaryIntegerAndBool() {
        var rng = EWRandom(2)
        for dtype in [DType.int32, .int64] {
            for f in Self.intFunctions {
                for n in Self.sizes {
                    let xs = (0..<n).map { _ in Double(rng.int(-1000, 1000)) }
                    let ys = runUnary(f, dtype, xs)
                    for i in 0..<n { XCTAssertEqual(ys[i], EWRef.unary(f, xs[i]), "\(f.name) \(dtype) x=\(xs[i])") }
                }
            }
            // Wrapping at the bounds (no trap).
            let m = dtype == .int32 ? Double(Int32.min) : -9223372036854775808.0
            var x = EWBuffer(dtype, [1], [m])
            x.bytes.withUnsafeMutableBytes { p in
                ElementwiseKernels.unary(.neg, dtype: dtype, input: UnsafeRawPointer(p.baseAddress!), output: p.baseAddress!, count: 1)
            }
            XCTAssertEqual(x[0], m, "neg(min) wraps")
        }
        for n in Self.sizes {
            let xs = (0..<n).map { Double($0 % 3 == 0 ? 1 : 0) }
            let ys = runUnary(.logicalNot, .bool, xs)
            for i in 0..<n { XCTAssertEqual(ys[i], xs[i] == 0 ? 1 : 0) }
        }
    }

    func testUnaryInPlace() {
        var rng = EWRandom(3)
        for dtype in [DType.float32, .float64] {
            for f in Self.floatFunctions {
                let (lo, hi) = Self.domain(f)
                let xs = (0..<4099).map { _ in EWRef.round(rng.uniform(lo, hi), dtype) }
                let a = runUnary(f, dtype, xs)
                let b = runUnary(f, dtype, xs, inPlace: true)
                for i in 0..<xs.count where !(a[i].isNaN && b[i].isNaN) { XCTAssertEqual(a[i], b[i], "\(f.name) in place") }
            }
        }
        // Large enough to run on several threads.
        let xs = (0..<100_000).map { _ in EWRef.round(rng.uniform(-5, 5), .float32) }
        let ys = runUnary(.tanh, .float32, xs, inPlace: true)
        for i in stride(from: 0, to: xs.count, by: 97) {
            assertClose(ys[i], Glibc.tanh(xs[i]), dtype: .float32, "tanh in place")
        }
    }

    func testSpecialValues() {
        let specials: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, 1e-45, -1e-45, 1e-40, -1e-40, 1.17549435e-38,
                                  3.4028234663852886e38, -3.4028234663852886e38, 88.72, 89, -87.5, -103.9, -104, -150,
                                  -1, 1, 0.5, -0.5, 1.5, 2.5, -2.5, 9.2, -9.2, 20, -20, 1e7, -1e7, 1e20, -1e20, 0.3466, -0.3466]
        for dtype in [DType.float32, .float64] {
            for f in Self.floatFunctions {
                let xs = specials.map { EWRef.round($0, dtype) }
                let ys = runUnary(f, dtype, xs)
                for i in 0..<xs.count {
                    let ref = EWRef.round(EWRef.unary(f, xs[i]), dtype == .float32 ? .float64 : dtype)
                    assertClose(ys[i], ref, dtype: dtype, abs: 1e-45, "\(f.name) \(dtype) special x=\(xs[i])")
                }
            }
        }
        // NumPy conventions called out in the spec.
        XCTAssertEqual(runUnary(.round, .float32, [0.5, 1.5, 2.5, -0.5, -1.5]), [0, 2, 2, -0.0, -2])
        XCTAssertTrue(runUnary(.relu, .float32, [.nan])[0].isNaN)
        XCTAssertEqual(runUnary(.sign, .float64, [0, -3, 4]), [0, -1, 1])
    }

    // MARK: binary

    func runBinary(_ f: BinaryFunction, _ dtype: DType, _ a: EWBuffer, _ b: EWBuffer) -> EWBuffer {
        let outShape = EWRef.broadcast([a.shape, b.shape])
        var out = EWBuffer(zeros: f.isComparison || f.isLogical ? .bool : dtype, outShape)
        a.bytes.withUnsafeBytes { ap in
            b.bytes.withUnsafeBytes { bp in
                out.bytes.withUnsafeMutableBytes { op in
                    ElementwiseKernels.binary(f, dtype: dtype, a: ap.baseAddress!, aShape: a.shape, b: bp.baseAddress!, bShape: b.shape,
                                              output: op.baseAddress!, outShape: outShape)
                }
            }
        }
        return out
    }

    func checkBinary(_ f: BinaryFunction, _ dtype: DType, _ a: EWBuffer, _ b: EWBuffer, _ out: EWBuffer,
                     file: StaticString = #filePath, line: UInt = #line) {
        for i in 0..<out.count {
            let idx = EWRef.multiIndex(i, out.shape)
            let x = a[EWRef.index(idx, a.shape)], y = b[EWRef.index(idx, b.shape)]
            var ref = EWRef.binary(f, x, y, integer: dtype.isInteger, width: dtype == .int32 ? 32 : 64)
            ref = EWRef.round(ref, out.dtype == .float32 ? .float64 : out.dtype)
            assertClose(out[i], ref, dtype: out.dtype, ulps: f == .pow ? 1 : 0.5, "\(f) \(dtype) \(a.shape)x\(b.shape) [\(i)] \(x), \(y)",
                        file: file, line: line)
        }
    }

    func values(_ dtype: DType, _ n: Int, _ rng: inout EWRandom, positive: Bool = false) -> [Double] {
        (0..<n).map { _ in
            switch dtype {
            case .bool: return Double(rng.int(0, 1))
            case .int32, .int64: return Double(rng.int(positive ? 1 : -50, 50))
            default: return EWRef.round(positive ? rng.uniform(0.1, 4) : rng.uniform(-4, 4), dtype)
            }
        }
    }

    func functions(_ dtype: DType) -> [BinaryFunction] {
        switch dtype {
        case .bool: return [.logicalAnd, .logicalOr, .equal, .notEqual]
        case .int32, .int64: return BinaryFunction.allCases.filter { !$0.isLogical && $0 != .pow }
        default: return BinaryFunction.allCases.filter { !$0.isLogical && !$0.isBitwise }
        }
    }

    func testBinarySameShapeAllDTypes() {
        var rng = EWRandom(4)
        for dtype in [DType.float32, .float64, .int32, .int64, .bool] {
            for f in functions(dtype) {
                for n in Self.sizes {
                    let a = EWBuffer(dtype, [n], values(dtype, n, &rng, positive: f == .pow))
                    var bv = values(dtype, n, &rng)
                    if n > 3 { bv[1] = a[1]; if dtype.isInteger { bv[2] = 0 } }   // ties; integer x/0
                    let b = EWBuffer(dtype, [n], bv)
                    checkBinary(f, dtype, a, b, runBinary(f, dtype, a, b))
                }
            }
        }
    }

    func testBinaryBroadcasting() {
        var rng = EWRandom(5)
        let pairs: [([Int], [Int])] = [([3, 4], []), ([], [3, 4]), ([3, 4], [4]), ([4], [3, 4]), ([3, 4], [3, 1]),
                                       ([2, 3, 4], [3, 1]), ([2, 1, 4], [3, 1]), ([1], [5]), ([2, 3, 5], [2, 1, 5]),
                                       ([7, 1, 3], [1, 17, 1]), ([0, 4], [4]), ([300, 257], [257]), ([257, 300], [257, 1]),
                                       ([5, 4099], [])]
        for dtype in [DType.float32, .float64, .int32, .int64, .bool] {
            for f in functions(dtype) {
                for (sa, sb) in pairs {
                    let big = sa.reduce(1, *) > 10_000 || sb.reduce(1, *) > 10_000
                    if big && ![BinaryFunction.add, .less, .logicalAnd, .sub].contains(f) { continue }
                    let a = EWBuffer(dtype, sa, values(dtype, sa.reduce(1, *), &rng, positive: f == .pow))
                    let b = EWBuffer(dtype, sb, values(dtype, sb.reduce(1, *), &rng))
                    checkBinary(f, dtype, a, b, runBinary(f, dtype, a, b))
                }
            }
        }
    }

    func testBinaryInPlaceAndSpecials() {
        // In place: out == a.
        var rng = EWRandom(6)
        let n = 50_000
        let xs = values(.float32, n, &rng), ys = values(.float32, n, &rng)
        var a = EWBuffer(.float32, [n], xs)
        let b = EWBuffer(.float32, [n], ys)
        a.bytes.withUnsafeMutableBytes { ap in
            b.bytes.withUnsafeBytes { bp in
                ElementwiseKernels.binary(.mul, dtype: .float32, a: UnsafeRawPointer(ap.baseAddress!), aShape: [n], b: bp.baseAddress!,
                                          bShape: [n], output: ap.baseAddress!, outShape: [n])
            }
        }
        for i in 0..<n { XCTAssertEqual(a[i], Double(Float(xs[i]) * Float(ys[i]))) }
        // NaN propagation of maximum/minimum, and comparisons with NaN.
        let sa = EWBuffer(.float32, [4], [.nan, 1, .infinity, -0.0])
        let sb = EWBuffer(.float32, [4], [1, .nan, -.infinity, 0])
        for f in [BinaryFunction.maximum, .minimum, .add, .div, .equal, .less, .greaterEqual, .notEqual, .pow] {
            checkBinary(f, .float32, sa, sb, runBinary(f, .float32, sa, sb))
        }
        // Integer division: truncation, by zero, min / -1.
        for dtype in [DType.int32, .int64] {
            let m = dtype == .int32 ? Double(Int32.min) : -9223372036854775808.0
            let ia = EWBuffer(dtype, [6], [7, -7, 7, -7, 5, m])
            let ib = EWBuffer(dtype, [6], [2, 2, -2, 0, 0, -1])
            let q = runBinary(.div, dtype, ia, ib)
            XCTAssertEqual(q.values, [3, -3, -3, 0, 0, m])
            let s = runBinary(.add, dtype, EWBuffer(dtype, [1], [m]), EWBuffer(dtype, [1], [-1]))
            XCTAssertEqual(s.int64(0), dtype == .int32 ? Int64(Int32.max) : Int64.max, "add wraps")
        }
    }

    func testInPlaceWithOtherElementSizes() {
        // Outputs written over inputs of another element size, large enough for several threads.
        let n = 100_003
        let xs = (0..<n).map { Double($0 % 17) - 8.5 }
        // Comparison (4-byte input, 1-byte output) into the input's memory.
        var a = EWBuffer(.float32, [n], xs)
        let b = EWBuffer(.float32, [n], [Double](repeating: 0, count: n))
        a.bytes.withUnsafeMutableBytes { ap in
            b.bytes.withUnsafeBytes { bp in
                ElementwiseKernels.binary(.greater, dtype: .float32, a: UnsafeRawPointer(ap.baseAddress!), aShape: [n], b: bp.baseAddress!,
                                          bShape: [n], output: ap.baseAddress!, outShape: [n])
            }
        }
        a.bytes.withUnsafeBytes { p in
            for i in 0..<n { XCTAssertEqual(p[i], xs[i] > 0 ? 1 : 0, "greater in place [\(i)]") }
        }
        // Narrowing and widening casts in place.
        var d = EWBuffer(.float64, [n], xs)
        d.bytes.withUnsafeMutableBytes { p in
            ElementwiseKernels.cast(from: .float64, to: .float32, input: UnsafeRawPointer(p.baseAddress!), output: p.baseAddress!, count: n)
        }
        d.bytes.withUnsafeBytes { p in
            for i in 0..<n { XCTAssertEqual(Double(p.load(fromByteOffset: i * 4, as: Float.self)), xs[i]) }
        }
        // Fused: a bool input widened to float32 over its own memory, and a float32 input narrowed to bool.
        var m = [UInt8](repeating: 0, count: n * 4)
        for i in 0..<n { m[i] = UInt8(i % 3 == 0 ? 1 : 0) }
        let widen = FusedProgram(steps: [.input(0), .cast(.float32, 0), .constant(2), .binary(.mul, 1, 2)], dtypes: [.bool, .float32, .float32, .float32])
        m.withUnsafeMutableBytes { p in
            ElementwiseKernels.fused(widen, inputs: [(UnsafeRawPointer(p.baseAddress!), [n])], output: p.baseAddress!, outShape: [n])
            for i in 0..<n { XCTAssertEqual(p.load(fromByteOffset: i * 4, as: Float.self), i % 3 == 0 ? 2 : 0) }
        }
        var f = EWBuffer(.float32, [n], xs)
        let narrow = FusedProgram(steps: [.input(0), .constant(1), .binary(.less, 0, 1)], dtypes: [.float32, .float32, .bool])
        f.bytes.withUnsafeMutableBytes { p in
            ElementwiseKernels.fused(narrow, inputs: [(UnsafeRawPointer(p.baseAddress!), [n])], output: p.baseAddress!, outShape: [n])
            for i in 0..<n { XCTAssertEqual(p[i], xs[i] < 1 ? 1 : 0) }
        }
    }

    // MARK: select, cast

    func testSelectBroadcasting() {
        var rng = EWRandom(7)
        let cases: [([Int], [Int], [Int])] = [([5], [5], [5]), ([3, 4], [4], []), ([3, 1], [1, 4], [3, 4]), ([], [7], [7]),
                                              ([2, 3, 4], [3, 4], [2, 1, 4]), ([4099], [4099], []), ([0], [0], [0])]
        for dtype in [DType.float32, .float64, .int32, .int64, .bool] {
            for (sc, sa, sb) in cases {
                let c = EWBuffer(.bool, sc, values(.bool, sc.reduce(1, *), &rng))
                let a = EWBuffer(dtype, sa, values(dtype, sa.reduce(1, *), &rng))
                let b = EWBuffer(dtype, sb, values(dtype, sb.reduce(1, *), &rng))
                let outShape = EWRef.broadcast([sc, sa, sb])
                var out = EWBuffer(zeros: dtype, outShape)
                c.bytes.withUnsafeBytes { cp in a.bytes.withUnsafeBytes { ap in b.bytes.withUnsafeBytes { bp in
                    out.bytes.withUnsafeMutableBytes { op in
                        ElementwiseKernels.select(condition: cp.baseAddress!, conditionShape: sc, a: ap.baseAddress!, aShape: sa,
                                                  b: bp.baseAddress!, bShape: sb, dtype: dtype, output: op.baseAddress!, outShape: outShape)
                    }
                } } }
                for i in 0..<out.count {
                    let idx = EWRef.multiIndex(i, outShape)
                    let ref = c[EWRef.index(idx, sc)] != 0 ? a[EWRef.index(idx, sa)] : b[EWRef.index(idx, sb)]
                    XCTAssertEqual(out[i], ref, "select \(dtype) \(sc) \(sa) \(sb) [\(i)]")
                }
            }
        }
    }

    func testCastAllPairs() {
        let floats: [Double] = [0, -0.0, 1, -1, 3.7, -3.7, 0.5, -0.5, 1e10, -1e10, 2147483647, 2147483648, -2147483649,
                                9.3e18, -9.3e18, .infinity, -.infinity, .nan, 1e-40, 123456.789]
        let ints: [Double] = [0, 1, -1, 7, -7, 2147483647, -2147483648, 16777217, 1099511627776, -1099511627776]
        for from in DType.allCases {
            let xs: [Double] = from.isFloatingPoint ? floats : (from == .bool ? [0, 1, 1, 0] : ints.filter {
                from == .int64 || Swift.abs($0) <= 2147483648 })
            let x = EWBuffer(from, [xs.count], xs.map { EWRef.round($0, from) })
            for to in DType.allCases {
                var y = EWBuffer(zeros: to, [xs.count])
                x.bytes.withUnsafeBytes { xp in
                    y.bytes.withUnsafeMutableBytes { yp in
                        ElementwiseKernels.cast(from: from, to: to, input: xp.baseAddress!, output: yp.baseAddress!, count: xs.count)
                    }
                }
                for i in 0..<xs.count {
                    let v = x[i]
                    switch to {
                    case .float32, .float64:
                        let ref = EWRef.round(from == .int64 ? Double(x.int64(i)) : v, to)
                        if to == .float32 && from == .int64 {
                            XCTAssertEqual(y[i], Double(Float(x.int64(i))), "cast \(from)->\(to) \(v)")
                        } else {
                            XCTAssert(y[i] == ref || (y[i].isNaN && ref.isNaN), "cast \(from)->\(to) \(v): \(y[i]) vs \(ref)")
                        }
                    case .bool:
                        XCTAssertEqual(y[i], v != 0 ? 1 : 0, "cast \(from)->bool \(v)")
                    case .int32, .int64:
                        let (lo, hi): (Double, Double) = to == .int32 ? (-2147483648, 2147483647) : (-9223372036854775808, 9223372036854775807)
                        if from.isFloatingPoint {
                            let ref: Int64 = v.isNaN ? 0 : (v <= lo ? Int64(lo) : (v >= hi ? (to == .int32 ? Int64(Int32.max) : .max)
                                                                                              : Int64(v.rounded(.towardZero))))
                            XCTAssertEqual(y.int64(i), ref, "cast \(from)->\(to) \(v)")
                        } else {
                            let iv = from == .bool ? Int64(v) : x.int64(i)
                            XCTAssertEqual(y.int64(i), to == .int32 ? Int64(Int32(truncatingIfNeeded: iv)) : iv, "cast \(from)->\(to) \(v)")
                        }
                    }
                }
            }
        }
        // In place to a wider type.
        var buf = EWBuffer(.float64, [3], [0, 0, 0])
        buf.bytes.withUnsafeMutableBytes { p in
            p.storeBytes(of: Float(1.5), toByteOffset: 0, as: Float.self)
            p.storeBytes(of: Float(-2), toByteOffset: 4, as: Float.self)
            p.storeBytes(of: Float(3), toByteOffset: 8, as: Float.self)
            ElementwiseKernels.cast(from: .float32, to: .float64, input: UnsafeRawPointer(p.baseAddress!), output: p.baseAddress!, count: 3)
        }
        XCTAssertEqual(buf.values, [1.5, -2, 3])
    }
}
