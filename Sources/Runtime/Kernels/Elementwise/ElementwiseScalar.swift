// Scalar (one element at a time) semantics of every elementwise function.
// Used as the portable path for rare cases; the hot paths are the C kernels in CKernels.
import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One element of any dtype, widened: floats as `Double`, integers as `Int64`, bools as `Bool`.
enum ElementValue {
    case f(Double)
    case i(Int64)
    case b(Bool)

    /// The value as a double (bools 0/1).
    var double: Double {
        switch self {
        case .f(let v): return v
        case .i(let v): return Double(v)
        case .b(let v): return v ? 1 : 0
        }
    }
}

enum ElementScalar {
    static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    static func log(_ x: Double) -> Double { Glibc.log(x) }

    /// Reads element `i` of a buffer of `dtype`.
    @inline(__always)
    static func load(_ dtype: DType, _ p: UnsafeRawPointer, _ i: Int) -> ElementValue {
        switch dtype {
        case .float32: return .f(Double(p.load(fromByteOffset: i * 4, as: Float.self)))
        case .float64: return .f(p.load(fromByteOffset: i * 8, as: Double.self))
        case .int32: return .i(Int64(p.load(fromByteOffset: i * 4, as: Int32.self)))
        case .int64: return .i(p.load(fromByteOffset: i * 8, as: Int64.self))
        case .bool: return .b(p.load(fromByteOffset: i, as: UInt8.self) != 0)
        }
    }

    /// Writes element `i` of a buffer of `dtype`, converting as ``convert(_:to:)`` does.
    @inline(__always)
    static func store(_ v: ElementValue, _ dtype: DType, _ p: UnsafeMutableRawPointer, _ i: Int) {
        switch convert(v, to: dtype) {
        case .f(let d):
            if dtype == .float32 { p.storeBytes(of: Float(d), toByteOffset: i * 4, as: Float.self) }
            else { p.storeBytes(of: d, toByteOffset: i * 8, as: Double.self) }
        case .i(let n):
            if dtype == .int32 { p.storeBytes(of: Int32(truncatingIfNeeded: n), toByteOffset: i * 4, as: Int32.self) }
            else { p.storeBytes(of: n, toByteOffset: i * 8, as: Int64.self) }
        case .b(let b):
            p.storeBytes(of: b ? 1 : 0, toByteOffset: i, as: UInt8.self)
        }
    }

    /// Float to integer: truncation toward zero, NaN to 0, saturating at the type's bounds.
    static func saturatingInt(_ d: Double, _ dtype: DType) -> Int64 {
        if d.isNaN { return 0 }
        let (lo, hi): (Double, Double) = dtype == .int32 ? (-2147483648.0, 2147483647.0)
                                                          : (-9223372036854775808.0, 9223372036854775807.0)
        if d <= lo { return dtype == .int32 ? Int64(Int32.min) : Int64.min }
        if d >= hi { return dtype == .int32 ? Int64(Int32.max) : Int64.max }
        return Int64(d.rounded(.towardZero))
    }

    /// Converts a value to the representation of `dtype` (rounding floats to Float precision
    /// for float32, wrapping int64 to int32, saturating floats to integers).
    static func convert(_ v: ElementValue, to dtype: DType) -> ElementValue {
        switch (v, dtype) {
        case (.f(let d), .float32): return .f(Double(Float(d)))
        case (.f, .float64): return v
        case (.f(let d), .int32), (.f(let d), .int64): return .i(saturatingInt(d, dtype))
        case (.f(let d), .bool): return .b(d != 0)
        case (.i(let n), .float32): return .f(Double(Float(n)))
        case (.i(let n), .float64): return .f(Double(n))
        case (.i(let n), .int32): return .i(Int64(Int32(truncatingIfNeeded: n)))
        case (.i, .int64): return v
        case (.i(let n), .bool): return .b(n != 0)
        case (.b(let b), .float32), (.b(let b), .float64): return .f(b ? 1 : 0)
        case (.b(let b), .int32), (.b(let b), .int64): return .i(b ? 1 : 0)
        case (.b, .bool): return v
        }
    }

    /// Round half to even.
    static func rint(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }

    /// `f(x)` for a value of `dtype` (the result has the same dtype).
    static func unary(_ f: UnaryFunction, _ v: ElementValue, _ dtype: DType) -> ElementValue {
        switch v {
        case .b(let b): return .b(f == .logicalNot ? !b : b)
        case .i(let n):
            let r: Int64
            switch f {
            case .neg: r = 0 &- n
            case .abs: r = n < 0 ? 0 &- n : n
            case .sign: r = n > 0 ? 1 : (n < 0 ? -1 : 0)
            case .square: r = n &* n
            case .relu: r = n > 0 ? n : 0
            case .narrow(let format): r = sg_narrow_wrap(format.code, n)
            case .bitwiseNot: r = ~n
            default: r = n
            }
            return convert(.i(r), to: dtype)
        case .f(let x):
            return convert(.f(floatUnary(f, x)), to: dtype)
        }
    }

    /// Float semantics of each unary function, in Double.
    static func floatUnary(_ f: UnaryFunction, _ x: Double) -> Double {
        switch f {
        case .neg: return -x
        case .abs: return Swift.abs(x)
        case .sign: return x > 0 ? 1 : (x < 0 ? -1 : x)
        case .exp: return Glibc.exp(x)
        case .log: return Glibc.log(x)
        case .log1p: return Glibc.log1p(x)
        case .expm1: return Glibc.expm1(x)
        case .sqrt: return x.squareRoot()
        case .rsqrt: return 1 / x.squareRoot()
        case .square: return x * x
        case .reciprocal: return 1 / x
        case .sin: return Glibc.sin(x)
        case .cos: return Glibc.cos(x)
        case .tanh: return Glibc.tanh(x)
        case .sigmoid: return x >= 0 ? 1 / (1 + Glibc.exp(-x)) : Glibc.exp(x) / (1 + Glibc.exp(x))
        case .relu: return x > 0 ? x : (x.isNaN ? x : 0)
        case .leakyRelu(let a): return x > 0 ? x : a * x
        case .elu(let a): return x > 0 ? x : a * Glibc.expm1(x)
        case .softplus: return Glibc.log1p(Glibc.exp(-Swift.abs(x))) + Swift.max(x, 0)
        case .erf: return Glibc.erf(x)
        case .gelu: return 0.5 * x * Glibc.erfc(-x / 2.0.squareRoot())
        case .floor: return Glibc.floor(x)
        case .ceil: return Glibc.ceil(x)
        case .round: return rint(x)
        case .logicalNot: return x == 0 ? 1 : 0
        case .narrow(let format): return sg_narrow_round(format.code, x)
        case .bitwiseNot: return .nan  // integers only
        }
    }

    /// `f(a, b)` for values of input dtype `dtype`; comparisons and logic give `.b`.
    /// A logical shift of the dtype's bits; counts outside 0 ..< width give 0.
    static func shift(_ x: Int64, _ y: Int64, left: Bool, _ dtype: DType) -> Int64 {
        let width: Int64 = dtype == .int32 ? 32 : 64
        guard y >= 0, y < width else { return 0 }
        if dtype == .int32 {
            let u = UInt32(truncatingIfNeeded: x)
            return Int64(Int32(bitPattern: left ? u << UInt32(y) : u >> UInt32(y)))
        }
        let u = UInt64(bitPattern: x)
        return Int64(bitPattern: left ? u << UInt64(y) : u >> UInt64(y))
    }

    static func binary(_ f: BinaryFunction, _ a: ElementValue, _ b: ElementValue, _ dtype: DType) -> ElementValue {
        switch (a, b) {
        case (.f(let x), .f(let y)):
            switch f {
            case .add: return convert(.f(x + y), to: dtype)
            case .sub: return convert(.f(x - y), to: dtype)
            case .mul: return convert(.f(x * y), to: dtype)
            case .div: return convert(.f(x / y), to: dtype)
            case .pow:
                if dtype == .float32 { return .f(Double(Glibc.powf(Float(x), Float(y)))) }
                return .f(Glibc.pow(x, y))
            case .maximum: return .f(x.isNaN || y.isNaN ? .nan : Swift.max(x, y))
            case .minimum: return .f(x.isNaN || y.isNaN ? .nan : Swift.min(x, y))
            case .equal: return .b(x == y)
            case .notEqual: return .b(x != y)
            case .less: return .b(x < y)
            case .lessEqual: return .b(x <= y)
            case .greater: return .b(x > y)
            case .greaterEqual: return .b(x >= y)
            case .logicalAnd: return .b(x != 0 && y != 0)
            case .logicalOr: return .b(x != 0 || y != 0)
            case .bitwiseAnd, .bitwiseOr, .bitwiseXor, .shiftLeft, .shiftRight: return .f(.nan)  // integers only
            }
        case (.i(let x), .i(let y)):
            switch f {
            case .add: return convert(.i(x &+ y), to: dtype)
            case .sub: return convert(.i(x &- y), to: dtype)
            case .mul: return convert(.i(x &* y), to: dtype)
            case .div: return convert(.i(intDiv(x, y, dtype)), to: dtype)
            case .pow: return convert(.f(Glibc.pow(Double(x), Double(y))), to: dtype)
            case .maximum: return .i(Swift.max(x, y))
            case .minimum: return .i(Swift.min(x, y))
            case .equal: return .b(x == y)
            case .notEqual: return .b(x != y)
            case .less: return .b(x < y)
            case .lessEqual: return .b(x <= y)
            case .greater: return .b(x > y)
            case .greaterEqual: return .b(x >= y)
            case .logicalAnd: return .b(x != 0 && y != 0)
            case .logicalOr: return .b(x != 0 || y != 0)
            case .bitwiseAnd: return convert(.i(x & y), to: dtype)
            case .bitwiseOr: return convert(.i(x | y), to: dtype)
            case .bitwiseXor: return convert(.i(x ^ y), to: dtype)
            case .shiftLeft, .shiftRight: return .i(shift(x, y, left: f == .shiftLeft, dtype))
            }
        default:
            let x = a.double != 0, y = b.double != 0
            switch f {
            case .logicalAnd, .mul, .minimum: return .b(x && y)
            case .logicalOr, .add, .maximum: return .b(x || y)
            case .equal: return .b(x == y)
            case .notEqual: return .b(x != y)
            case .less: return .b(!x && y)
            case .lessEqual: return .b(!x || y)
            case .greater: return .b(x && !y)
            case .greaterEqual: return .b(x || !y)
            case .sub: return .b(x != y)
            case .div, .pow: return .b(x)
            case .bitwiseAnd: return .b(x && y)
            case .bitwiseOr: return .b(x || y)
            case .bitwiseXor: return .b(x != y)
            case .shiftLeft, .shiftRight: return .b(x && !y)
            }
        }
    }

    /// Integer division truncating toward zero; division by zero gives 0, and
    /// `min / -1` wraps to `min` (no trap).
    static func intDiv(_ x: Int64, _ y: Int64, _ dtype: DType) -> Int64 {
        if y == 0 { return 0 }
        if y == -1 { return 0 &- x }
        return x / y
    }
}
