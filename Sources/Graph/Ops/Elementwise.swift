// Elementwise ops: unary math, broadcasting binary ops, comparisons, logic, where, cast.

extension Inference {
    static func unary(_ f: UnaryFunction, _ x: In) throws -> TypeInfo {
        switch f {
        case .logicalNot:
            guard x.0 == .bool else { throw fail("logicalNot needs bool, got \(x.0)", .bool, x.1) }
            return TypeInfo(.bool, x.1)
        case .bitwiseNot:
            guard x.0.isInteger else { throw fail("bitwiseNot needs an integer input, got \(x.0)", x.0, x.1) }
        case .narrow(let format):
            if format.kind.isFloatingPoint {
                guard x.0.isFloatingPoint else { throw fail("narrow to \(format.kind) needs a floating-point input, got \(x.0)", x.0, x.1) }
            } else {
                guard x.0 == .int32 || x.0 == .int64 else { throw fail("narrow to \(format.kind) needs an integer input, got \(x.0)", x.0, x.1) }
            }
        case .neg, .abs, .sign, .square, .relu, .floor, .ceil, .round:
            guard x.0.isNumeric else { throw fail("\(f.name) needs a number type, got \(x.0)", x.0, x.1) }
        default:
            guard x.0.isFloatingPoint else {
                throw fail("\(f.name) needs a floating-point input, got \(x.0) (cast it first)", x.0, x.1)
            }
        }
        return TypeInfo(x.0, x.1)
    }

    static func broadcast(_ shapes: [Shape], _ guessDType: DType) throws -> Shape {
        guard var out = shapes.first else { return .scalar }
        for s in shapes.dropFirst() {
            guard let b = Shape.broadcast(out, s) else {
                throw fail("shapes \(shapes.map(\.description).joined(separator: " and ")) cannot broadcast", guessDType, out)
            }
            out = b
        }
        return out
    }

    static func binary(_ f: BinaryFunction, _ a: In, _ b: In) throws -> TypeInfo {
        let shape = try broadcast([a.1, b.1], f.isComparison || f.isLogical ? .bool : a.0)
        if f.isLogical {
            guard a.0 == .bool, b.0 == .bool else { throw fail("\(f) needs bool inputs, got \(a.0) and \(b.0)", .bool, shape) }
            return TypeInfo(.bool, shape)
        }
        guard a.0 == b.0 else {
            throw fail("dtypes \(a.0) and \(b.0) differ (cast one of them)", f.isComparison ? .bool : a.0, shape)
        }
        if f.isComparison {
            guard a.0.isNumeric || f == .equal || f == .notEqual else { throw fail("\(f) needs numbers, got \(a.0)", .bool, shape) }
            return TypeInfo(.bool, shape)
        }
        guard a.0.isNumeric else { throw fail("\(f) needs numbers, got \(a.0)", a.0, shape) }
        if f == .pow, !a.0.isFloatingPoint { throw fail("pow needs floating-point inputs, got \(a.0)", a.0, shape) }
        if f.isBitwise, !a.0.isInteger { throw fail("\(f) needs integer inputs, got \(a.0)", a.0, shape) }
        return TypeInfo(a.0, shape)
    }

    static func select(_ c: In, _ a: In, _ b: In) throws -> TypeInfo {
        let shape = try broadcast([c.1, a.1, b.1], a.0)
        guard c.0 == .bool else { throw fail("where needs a bool condition, got \(c.0)", a.0, shape) }
        guard a.0 == b.0 else { throw fail("where's branches have dtypes \(a.0) and \(b.0)", a.0, shape) }
        return TypeInfo(a.0, shape)
    }
}

// MARK: - Unary builders

extension Tensor {
    /// Applies an elementwise function.
    public func map(_ f: UnaryFunction, file: String = #fileID, line: Int = #line) -> Tensor {
        make(.unary(f), [self], SourceLocation(file: file, line: line))
    }
    /// Elementwise binary op with broadcasting.
    public func apply(_ f: BinaryFunction, _ other: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        make(.binary(f), [self, other], SourceLocation(file: file, line: line))
    }
    /// Converts to another dtype (floats to integers truncate toward zero).
    public func cast(to dtype: DType, file: String = #fileID, line: Int = #line) -> Tensor {
        make(.cast(dtype), [self], SourceLocation(file: file, line: line))
    }
    /// Identity whose gradient is zero.
    public func stopGradient(file: String = #fileID, line: Int = #line) -> Tensor {
        make(.stopGradient, [self], SourceLocation(file: file, line: line))
    }
    /// A named identity (useful to give a value a name).
    public func identity(name: String? = nil, file: String = #fileID, line: Int = #line) -> Tensor {
        make(.identity, [self], name: name, SourceLocation(file: file, line: line))
    }

    public func add(_ o: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { apply(.add, o, file: file, line: line) }
    public func sub(_ o: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { apply(.sub, o, file: file, line: line) }
    public func mul(_ o: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { apply(.mul, o, file: file, line: line) }
    public func div(_ o: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { apply(.div, o, file: file, line: line) }
    /// Elementwise `self ** o` (floating point).
    public func pow(_ o: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { apply(.pow, o, file: file, line: line) }
    /// `self ** p` for a scalar exponent.
    public func pow(_ p: Double, file: String = #fileID, line: Int = #line) -> Tensor {
        let loc = SourceLocation(file: file, line: line)
        return make(.binary(.pow), [self, scalar(p, loc)], loc)
    }
    public func equal(_ o: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { apply(.equal, o, file: file, line: line) }
    public func notEqual(_ o: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { apply(.notEqual, o, file: file, line: line) }
    public func less(_ o: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { apply(.less, o, file: file, line: line) }
    public func lessEqual(_ o: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { apply(.lessEqual, o, file: file, line: line) }
    public func greater(_ o: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { apply(.greater, o, file: file, line: line) }
    public func greaterEqual(_ o: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { apply(.greaterEqual, o, file: file, line: line) }
}

/// `-x`
public func neg(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.neg, file: file, line: line) }
/// `|x|` (gradient at 0 is 0).
public func abs(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.abs, file: file, line: line) }
/// -1, 0 or 1.
public func sign(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.sign, file: file, line: line) }
/// `e^x`
public func exp(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.exp, file: file, line: line) }
/// Natural logarithm.
public func log(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.log, file: file, line: line) }
/// `log(1 + x)`, accurate near 0.
public func log1p(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.log1p, file: file, line: line) }
/// `e^x - 1`, accurate near 0.
public func expm1(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.expm1, file: file, line: line) }
/// Square root.
public func sqrt(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.sqrt, file: file, line: line) }
/// `1 / sqrt(x)`
public func rsqrt(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.rsqrt, file: file, line: line) }
/// `x * x`
public func square(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.square, file: file, line: line) }
/// `1 / x`
public func reciprocal(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.reciprocal, file: file, line: line) }
/// Sine.
public func sin(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.sin, file: file, line: line) }
/// Cosine.
public func cos(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.cos, file: file, line: line) }
/// Hyperbolic tangent.
public func tanh(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.tanh, file: file, line: line) }
/// `1 / (1 + e^-x)`
public func sigmoid(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.sigmoid, file: file, line: line) }
/// `max(x, 0)` (gradient at 0 is 0).
public func relu(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.relu, file: file, line: line) }
/// `x > 0 ? x : alpha * x`
public func leakyRelu(_ x: Tensor, alpha: Double = 0.01, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.leakyRelu(alpha: alpha), file: file, line: line) }
/// `x > 0 ? x : alpha * (e^x - 1)`
public func elu(_ x: Tensor, alpha: Double = 1, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.elu(alpha: alpha), file: file, line: line) }
/// `log(1 + e^x)`, computed stably.
public func softplus(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.softplus, file: file, line: line) }
/// The error function.
public func erf(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.erf, file: file, line: line) }
/// Exact GELU, `0.5 x (1 + erf(x / √2))`.
public func gelu(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.gelu, file: file, line: line) }
/// Rounds toward -∞.
public func floor(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.floor, file: file, line: line) }
/// Rounds toward +∞.
public func ceil(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.ceil, file: file, line: line) }
/// Rounds half to even.
public func round(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.round, file: file, line: line) }

/// Bitwise and of two integer tensors (broadcast).
public func bitwiseAnd(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { a.apply(.bitwiseAnd, b, file: file, line: line) }
/// Bitwise or of two integer tensors (broadcast).
public func bitwiseOr(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { a.apply(.bitwiseOr, b, file: file, line: line) }
/// Bitwise exclusive or of two integer tensors (broadcast).
public func bitwiseXor(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { a.apply(.bitwiseXor, b, file: file, line: line) }
/// `a`'s bits moved left by `b` (wrapping); a count outside 0 ..< the dtype's width gives 0.
public func shiftLeft(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { a.apply(.shiftLeft, b, file: file, line: line) }
/// `a`'s bits moved right by `b`, zeros shifted in (logical); a count outside 0 ..< width gives 0.
public func shiftRight(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { a.apply(.shiftRight, b, file: file, line: line) }
/// The bitwise complement of an integer tensor.
public func bitwiseNot(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.bitwiseNot, file: file, line: line) }

extension Tensor {
    /// The value a cast to the narrow storage type `format` and back gives (floats rounded,
    /// integers wrapped); the dtype is unchanged. Its gradient passes straight through.
    public func narrow(to format: NarrowFormat, file: String = #fileID, line: Int = #line) -> Tensor {
        map(.narrow(format), file: file, line: line)
    }
}
/// Logical not of a bool tensor.
public func logicalNot(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.map(.logicalNot, file: file, line: line) }
/// Logical and of bool tensors.
public func logicalAnd(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { a.apply(.logicalAnd, b, file: file, line: line) }
/// Logical or of bool tensors.
public func logicalOr(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { a.apply(.logicalOr, b, file: file, line: line) }
/// Elementwise maximum (gradient ties go to the first argument).
public func maximum(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { a.apply(.maximum, b, file: file, line: line) }
/// Elementwise minimum (gradient ties go to the first argument).
public func minimum(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { a.apply(.minimum, b, file: file, line: line) }
/// `a ** b`, elementwise.
public func pow(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { a.apply(.pow, b, file: file, line: line) }
/// `cond ? a : b`, elementwise with broadcasting.
public func `where`(_ cond: Tensor, _ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    cond.make(.select, [cond, a, b], SourceLocation(file: file, line: line))
}

// MARK: - Operators (creation site inherited from the newest operand; see SourceLocation)

extension Tensor {
    static func op(_ f: BinaryFunction, _ a: Tensor, _ b: Tensor) -> Tensor {
        a.make(.binary(f), [a, b], operatorLocation(a, b))
    }
    static func op(_ f: BinaryFunction, _ a: Tensor, _ b: Double) -> Tensor {
        let loc = operatorLocation(a)
        return a.make(.binary(f), [a, a.scalar(b, loc)], loc)
    }
    static func op(_ f: BinaryFunction, _ a: Double, _ b: Tensor) -> Tensor {
        let loc = operatorLocation(b)
        return b.make(.binary(f), [b.scalar(a, loc), b], loc)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { op(.add, a, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { op(.sub, a, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { op(.mul, a, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { op(.div, a, b) }
    public static func + (a: Tensor, b: Double) -> Tensor { op(.add, a, b) }
    public static func - (a: Tensor, b: Double) -> Tensor { op(.sub, a, b) }
    public static func * (a: Tensor, b: Double) -> Tensor { op(.mul, a, b) }
    public static func / (a: Tensor, b: Double) -> Tensor { op(.div, a, b) }
    public static func + (a: Double, b: Tensor) -> Tensor { op(.add, a, b) }
    public static func - (a: Double, b: Tensor) -> Tensor { op(.sub, a, b) }
    public static func * (a: Double, b: Tensor) -> Tensor { op(.mul, a, b) }
    public static func / (a: Double, b: Tensor) -> Tensor { op(.div, a, b) }
    public static prefix func - (a: Tensor) -> Tensor { a.make(.unary(.neg), [a], operatorLocation(a)) }

    public static func .== (a: Tensor, b: Tensor) -> Tensor { op(.equal, a, b) }
    public static func .!= (a: Tensor, b: Tensor) -> Tensor { op(.notEqual, a, b) }
    public static func .< (a: Tensor, b: Tensor) -> Tensor { op(.less, a, b) }
    public static func .<= (a: Tensor, b: Tensor) -> Tensor { op(.lessEqual, a, b) }
    public static func .> (a: Tensor, b: Tensor) -> Tensor { op(.greater, a, b) }
    public static func .>= (a: Tensor, b: Tensor) -> Tensor { op(.greaterEqual, a, b) }
    public static func .== (a: Tensor, b: Double) -> Tensor { op(.equal, a, b) }
    public static func .!= (a: Tensor, b: Double) -> Tensor { op(.notEqual, a, b) }
    public static func .< (a: Tensor, b: Double) -> Tensor { op(.less, a, b) }
    public static func .<= (a: Tensor, b: Double) -> Tensor { op(.lessEqual, a, b) }
    public static func .> (a: Tensor, b: Double) -> Tensor { op(.greater, a, b) }
    public static func .>= (a: Tensor, b: Double) -> Tensor { op(.greaterEqual, a, b) }
    public static func .& (a: Tensor, b: Tensor) -> Tensor { op(.logicalAnd, a, b) }
    public static func .| (a: Tensor, b: Tensor) -> Tensor { op(.logicalOr, a, b) }
    public static prefix func .! (a: Tensor) -> Tensor { a.make(.unary(.logicalNot), [a], operatorLocation(a)) }
}
