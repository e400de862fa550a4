// Float64 references and buffers for the elementwise kernel tests (independent of the
// implementation: plain Double math from Glibc).
import XCTest
import TestSupport
@testable import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// A typed test buffer stored as Doubles (ints exact up to 2^53) with raw bytes for the kernels.
struct EWBuffer {
    var dtype: DType
    var shape: [Int]
    var bytes: [UInt8]

    init(_ dtype: DType, _ shape: [Int], _ values: [Double]) {
        self.dtype = dtype
        self.shape = shape
        bytes = [UInt8](repeating: 0, count: Swift.max(values.count * dtype.byteSize, 1))
        for (i, v) in values.enumerated() { set(i, v) }
    }

    init(zeros dtype: DType, _ shape: [Int]) {
        self.init(dtype, shape, [Double](repeating: 0, count: shape.reduce(1, *)))
    }

    var count: Int { shape.reduce(1, *) }

    mutating func set(_ i: Int, _ v: Double) {
        bytes.withUnsafeMutableBytes { p in
            switch dtype {
            case .float32: p.storeBytes(of: Float(v), toByteOffset: i * 4, as: Float.self)
            case .float64: p.storeBytes(of: v, toByteOffset: i * 8, as: Double.self)
            case .int32: p.storeBytes(of: Int32(v), toByteOffset: i * 4, as: Int32.self)
            case .int64: p.storeBytes(of: Int64(v), toByteOffset: i * 8, as: Int64.self)
            case .bool: p.storeBytes(of: v != 0 ? 1 : 0, toByteOffset: i, as: UInt8.self)
            }
        }
    }

    subscript(i: Int) -> Double {
        bytes.withUnsafeBytes { p in
            switch dtype {
            case .float32: return Double(p.load(fromByteOffset: i * 4, as: Float.self))
            case .float64: return p.load(fromByteOffset: i * 8, as: Double.self)
            case .int32: return Double(p.load(fromByteOffset: i * 4, as: Int32.self))
            case .int64: return Double(p.load(fromByteOffset: i * 8, as: Int64.self))
            case .bool: return p.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0
            }
        }
    }

    var values: [Double] { (0..<count).map { self[$0] } }
    func int64(_ i: Int) -> Int64 {
        bytes.withUnsafeBytes { p in
            dtype == .int64 ? p.load(fromByteOffset: i * 8, as: Int64.self) : Int64(p.load(fromByteOffset: i * 4, as: Int32.self))
        }
    }
}

/// Deterministic pseudo-random numbers for tests.
struct EWRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * Double(next() >> 11) / Double(1 << 53)
    }
    mutating func int(_ lo: Int, _ hi: Int) -> Int { lo + Int(next() % UInt64(hi - lo + 1)) }
}

/// Double references of the scalar functions (the independent oracle).
enum EWRef {
    static func unary(_ f: UnaryFunction, _ x: Double) -> Double {
        switch f {
        case .neg: return -x
        case .abs: return Swift.abs(x)
        case .sign: return x > 0 ? 1 : (x < 0 ? -1 : (x.isNaN ? .nan : 0))
        case .exp: return Glibc.exp(x)
        case .log: return Glibc.log(x)
        case .log1p: return Glibc.log1p(x)
        case .expm1: return Glibc.expm1(x)
        case .sqrt: return Glibc.sqrt(x)
        case .rsqrt: return 1 / Glibc.sqrt(x)
        case .square: return x * x
        case .reciprocal: return 1 / x
        case .sin: return Glibc.sin(x)
        case .cos: return Glibc.cos(x)
        case .tanh: return Glibc.tanh(x)
        case .sigmoid: return 1 / (1 + Glibc.exp(-x))
        case .relu: return x.isNaN ? x : Swift.max(x, 0)
        case .leakyRelu(let a): return x > 0 ? x : a * x
        case .elu(let a): return x > 0 ? x : a * Glibc.expm1(x)
        case .softplus: return x > 0 ? x + Glibc.log1p(Glibc.exp(-x)) : Glibc.log1p(Glibc.exp(x))
        case .erf: return Glibc.erf(x)
        case .gelu: return x == -.infinity ? -0.0 : 0.5 * x * Glibc.erfc(-x / Glibc.sqrt(2))   // the limit at -inf
        case .floor: return Glibc.floor(x)
        case .ceil: return Glibc.ceil(x)
        case .round: return Glibc.nearbyint(x)
        case .logicalNot: return x == 0 ? 1 : 0
        case .narrow: return .nan  // checked against ml_dtypes' bits in NarrowFormatTests
        case .bitwiseNot: return Double(~Int64(x))
        }
    }

    static func binary(_ f: BinaryFunction, _ a: Double, _ b: Double, integer: Bool, width: Int = 64) -> Double {
        switch f {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div:
            if integer { return b == 0 ? 0 : (a / b).rounded(.towardZero) }
            return a / b
        case .pow: return Glibc.pow(a, b)
        case .maximum: return a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
        case .minimum: return a.isNaN || b.isNaN ? .nan : Swift.min(a, b)
        case .equal: return a == b ? 1 : 0
        case .notEqual: return a != b ? 1 : 0
        case .less: return a < b ? 1 : 0
        case .lessEqual: return a <= b ? 1 : 0
        case .greater: return a > b ? 1 : 0
        case .greaterEqual: return a >= b ? 1 : 0
        case .logicalAnd: return a != 0 && b != 0 ? 1 : 0
        case .logicalOr: return a != 0 || b != 0 ? 1 : 0
        case .bitwiseAnd: return Double(Int64(a) & Int64(b))
        case .bitwiseOr: return Double(Int64(a) | Int64(b))
        case .bitwiseXor: return Double(Int64(a) ^ Int64(b))
        case .shiftLeft, .shiftRight: return Double(ReferenceBits.shift(Int64(a), Int64(b), left: f == .shiftLeft, width: width))
        }
    }

    /// NumPy broadcast of shapes.
    static func broadcast(_ shapes: [[Int]]) -> [Int] {
        let r = shapes.map(\.count).max() ?? 0
        return (0..<r).map { i in
            let ds = shapes.map { s in i < r - s.count ? 1 : s[i - (r - s.count)] }
            return ds.contains(0) ? 0 : (ds.max() ?? 1)
        }
    }

    /// Flat index into a tensor of `shape` for output multi-index `idx` (broadcast).
    static func index(_ idx: [Int], _ shape: [Int]) -> Int {
        let off = idx.count - shape.count
        var flat = 0
        for (d, n) in shape.enumerated() { flat = flat * n + (n == 1 ? 0 : idx[d + off]) }
        return flat
    }

    static func multiIndex(_ i: Int, _ shape: [Int]) -> [Int] {
        var rem = i
        var idx = [Int](repeating: 0, count: shape.count)
        for d in stride(from: shape.count - 1, through: 0, by: -1) { idx[d] = rem % shape[d]; rem /= shape[d] }
        return idx
    }

    /// Rounds a Double to the storage precision of dtype.
    static func round(_ v: Double, _ dtype: DType) -> Double {
        switch dtype {
        case .float32: return Double(Float(v))
        case .bool: return v != 0 ? 1 : 0
        default: return v
        }
    }
}

/// Units in the last place of the float32 nearest to `ref` (at least the smallest subnormal).
func ulpsF32(_ y: Double, _ ref: Double) -> Double {
    if y.isNaN && ref.isNaN { return 0 }
    let r = Float(ref)
    if r.isInfinite || y.isInfinite { return Double(r) == y ? 0 : .infinity }
    let u = Double(Swift.max(r.magnitude.ulp, Float.leastNonzeroMagnitude))
    return Swift.abs(y - ref) / u
}

func assertClose(_ y: Double, _ ref: Double, dtype: DType, ulps: Double = 4, abs: Double = 0,
                 _ what: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line) {
    if y.isNaN || ref.isNaN {
        XCTAssert(y.isNaN && ref.isNaN, "\(what()): got \(y), expected \(ref)", file: file, line: line)
        return
    }
    if y == ref { return }
    if dtype == .float32 {
        let e = ulpsF32(y, ref)
        XCTAssert(e <= ulps || Swift.abs(y - ref) <= abs, "\(what()): got \(y), expected \(ref) (\(e) ulp)", file: file, line: line)
    } else if dtype == .float64 {
        let tol = Swift.max(Swift.abs(ref) * 1e-14, abs, 1e-300)
        XCTAssert(Swift.abs(y - ref) <= tol, "\(what()): got \(y), expected \(ref)", file: file, line: line)
    } else {
        XCTAssertEqual(y, ref, what(), file: file, line: line)
    }
}
