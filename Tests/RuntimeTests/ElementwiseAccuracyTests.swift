import XCTest
@testable import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// Dense sweeps of the float32 approximations against Float64 libm: the maximum error in
/// float32 ulps over every k-th float in each range (including subnormal inputs and results).
/// The measured maxima are recorded in docs/performance.md.
final class ElementwiseAccuracyTests: XCTestCase {
    /// Every `step`-th float32 bit pattern from `lo` to `hi` (both positive magnitudes), with both signs if asked.
    static func sweep(_ lo: Float, _ hi: Float, step: UInt32, bothSigns: Bool) -> [Float] {
        var out = [Float]()
        var u = lo.bitPattern
        while u <= hi.bitPattern {
            let x = Float(bitPattern: u)
            out.append(x)
            if bothSigns { out.append(-x) }
            u += step
        }
        return out
    }

    /// Max ulp error of the kernel over `xs` against `ref` (computed in Double).
    func maxUlps(_ f: UnaryFunction, _ xs: [Float], _ ref: (Double) -> Double) -> (Double, Float) {
        var ys = [Float](repeating: 0, count: xs.count)
        xs.withUnsafeBytes { xp in
            ys.withUnsafeMutableBytes { yp in
                ElementwiseKernels.unary(f, dtype: .float32, input: xp.baseAddress!, output: yp.baseAddress!, count: xs.count)
            }
        }
        var worst = 0.0, at: Float = 0
        for i in 0..<xs.count {
            let e = ulpsF32(Double(ys[i]), ref(Double(xs[i])))
            if e > worst || e.isNaN { worst = e.isNaN ? .infinity : e; at = xs[i] }
        }
        return (worst, at)
    }

    func check(_ f: UnaryFunction, _ xs: [Float], bound: Double, _ ref: (Double) -> Double) {
        let (e, at) = maxUlps(f, xs, ref)
        print(String(describing: "accuracy \(f.name): max \(e) ulp at x = \(at) over \(xs.count) points"))
        XCTAssertLessThanOrEqual(e, bound, "\(f.name) worst at \(at)")
    }

    func testExpFamily() {
        check(.exp, Self.sweep(1e-30, 104, step: 853, bothSigns: true), bound: 2) { Glibc.exp($0) }
        check(.expm1, Self.sweep(1e-30, 89, step: 853, bothSigns: true), bound: 3) { Glibc.expm1($0) }
        check(.sigmoid, Self.sweep(1e-30, 110, step: 853, bothSigns: true), bound: 3) { 1 / (1 + Glibc.exp(-$0)) }
        check(.tanh, Self.sweep(1e-30, 12, step: 853, bothSigns: true), bound: 4) { Glibc.tanh($0) }
        check(.softplus, Self.sweep(1e-30, 110, step: 853, bothSigns: true), bound: 3) {
            $0 > 0 ? $0 + Glibc.log1p(Glibc.exp(-$0)) : Glibc.log1p(Glibc.exp($0))
        }
        check(.elu(alpha: 1), Self.sweep(1e-30, 110, step: 853, bothSigns: true), bound: 3) { $0 > 0 ? $0 : Glibc.expm1($0) }
    }

    func testLogFamily() {
        check(.log, Self.sweep(Float.leastNonzeroMagnitude, Float.greatestFiniteMagnitude, step: 3907, bothSigns: false), bound: 2) {
            Glibc.log($0)
        }
        var xs = Self.sweep(Float.leastNonzeroMagnitude, Float.greatestFiniteMagnitude, step: 3907, bothSigns: false)
        xs += Self.sweep(Float.leastNonzeroMagnitude, 1, step: 1973, bothSigns: false).map { -$0 }
        check(.log1p, xs, bound: 3) { Glibc.log1p($0) }
    }

    func testTrigAndErf() {
        check(.sin, Self.sweep(1e-30, 1e6, step: 937, bothSigns: true), bound: 1) { Glibc.sin($0) }
        check(.cos, Self.sweep(1e-30, 1e6, step: 937, bothSigns: true), bound: 1) { Glibc.cos($0) }
        check(.sin, Self.sweep(1e6, 1e30, step: 100_003, bothSigns: true), bound: 1) { Glibc.sin($0) }
        check(.erf, Self.sweep(1e-38, 12, step: 797, bothSigns: true), bound: 1) { Glibc.erf($0) }
        check(.gelu, Self.sweep(1e-38, 14, step: 797, bothSigns: true), bound: 1) { 0.5 * $0 * Glibc.erfc(-$0 / Glibc.sqrt(2)) }
    }
}
