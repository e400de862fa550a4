/// Counter-based random numbers: a hash of (element index, seed), so the same seed gives
/// the same numbers on every run and every machine, in any order and on any thread.
///
/// `detU32` is MurmurHash3's fmix32 finalizer applied to `i + seed * 0x9E3779B9`
/// (the generator of the benchmark workloads in docs/benchmarks.md).
public enum DeterministicRandom {
    /// The 32-bit hash of element `i` under `seed`.
    @inlinable
    public static func u32(_ i: Int, seed: UInt64) -> UInt32 {
        var h = UInt32(truncatingIfNeeded: i) &+ UInt32(truncatingIfNeeded: seed) &* 0x9E37_79B9
        h ^= h >> 16
        h = h &* 0x85EB_CA6B
        h ^= h >> 13
        h = h &* 0xC2B2_AE35
        h ^= h >> 16
        return h
    }

    /// Uniform in `[0, 1)` as Double (`u32 / 2^32`).
    @inlinable
    public static func unit(_ i: Int, seed: UInt64) -> Double {
        Double(u32(i, seed: seed)) / 4_294_967_296.0
    }

    /// `count` uniform numbers in `[low, high)`, computed in Double and rounded once to Float.
    public static func uniformFloats(count: Int, seed: UInt64, low: Double, high: Double) -> [Float] {
        (0..<Swift.max(count, 0)).map { Float(low + (high - low) * unit($0, seed: seed)) }
    }

    /// `count` uniform numbers in `[low, high)` as Double.
    public static func uniformDoubles(count: Int, seed: UInt64, low: Double, high: Double) -> [Double] {
        (0..<Swift.max(count, 0)).map { low + (high - low) * unit($0, seed: seed) }
    }

    /// Standard normal number for element `i` (Box–Muller on two hashed streams).
    @inlinable
    public static func normal(_ i: Int, seed: UInt64) -> Double {
        let u1 = (Double(u32(2 &* i, seed: seed)) + 1) / 4_294_967_297.0
        let u2 = Double(u32(2 &* i &+ 1, seed: seed)) / 4_294_967_296.0
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// Integer labels `u32 % classes` (the workloads' `det_labels`).
    public static func labels(count: Int, seed: UInt64, classes: Int) -> [Int32] {
        let c = UInt32(clamping: Swift.max(classes, 1))   // classes < 1 gives all zeros, never a trap
        return (0..<Swift.max(count, 0)).map { Int32(u32($0, seed: seed) % c) }
    }

    /// Fan-in and fan-out of a weight shape: `[in, out]` for matrices, `[O, I, KH, KW]` for filters.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        switch shape.count {
        case 0: return (1, 1)
        case 1: return (shape[0], shape[0])
        case 2: return (shape[0], shape[1])
        default:
            let receptive = shape.dropFirst(2).reduce(1, *)
            return (shape[1] * receptive, shape[0] * receptive)
        }
    }

    /// Element `i` of a variable's initial value, as Double (nil for `.value`, which has no formula).
    static func generator(_ initializer: Initializer, shape: [Int], seed: UInt64) -> ((Int) -> Double)? {
        let (fi, fo) = fans(shape)
        func uniform(_ lo: Double, _ hi: Double) -> (Int) -> Double { { lo + (hi - lo) * unit($0, seed: seed) } }
        func gaussian(_ m: Double, _ s: Double) -> (Int) -> Double { { m + s * normal($0, seed: seed) } }
        switch initializer {
        case .zeros: return { _ in 0 }
        case .ones: return { _ in 1 }
        case .constant(let c): return { _ in c }
        case .uniform(let lo, let hi): return uniform(lo, hi)
        case .normal(let m, let s): return gaussian(m, s)
        case .glorotUniform:
            let l = (6.0 / Double(fi + fo)).squareRoot()
            return uniform(-l, l)
        case .glorotNormal: return gaussian(0, (2.0 / Double(fi + fo)).squareRoot())
        case .heUniform:
            let l = (6.0 / Double(fi)).squareRoot()
            return uniform(-l, l)
        case .heNormal: return gaussian(0, (2.0 / Double(fi)).squareRoot())
        case .value: return nil
        }
    }

    /// The initial values of a variable, as Double, row-major.
    public static func initialValues(_ initializer: Initializer, shape: [Int], seed: UInt64) -> [Double] {
        let n = shape.contains { $0 < 0 } ? 0 : shape.reduce(1, *)
        if case .value(let v) = initializer { return v.doubles }
        guard let f = generator(initializer, shape: shape, seed: seed) else { return Array(repeating: 0, count: n) }
        return (0..<n).map(f)
    }

    /// The initial value of a variable as a tensor of `dtype`, written in one pass. Values are
    /// computed in Double and rounded once, so float32 `glorotUniform` with seed s equals the
    /// workloads' `glorot(…, seed s)`.
    public static func initialTensor(_ initializer: Initializer, shape: [Int], dtype: DType, seed: UInt64) -> HostTensor {
        if case .value(let v) = initializer { return v.converted(to: dtype) }
        guard let f = generator(initializer, shape: shape, seed: seed) else { return HostTensor(zeros: dtype, shape: shape) }
        var t = HostTensor(zeros: dtype == .float32 ? .float32 : .float64, shape: shape)
        if dtype == .float32 {
            t.withUnsafeMutableBufferPointer(as: Float.self) { b in for i in b.indices { b[i] = Float(f(i)) } }
        } else {
            t.withUnsafeMutableBufferPointer(as: Double.self) { b in for i in b.indices { b[i] = f(i) } }
        }
        return t.converted(to: dtype)
    }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func _log(_ x: Double) -> Double { Glibc.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
@usableFromInline func _log(_ x: Double) -> Double { Darwin.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
