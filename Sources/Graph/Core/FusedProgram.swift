/// A straight-line elementwise program: the body of a fused kernel.
///
/// Steps are evaluated in order; each produces one value (a register). `.input(k)` reads
/// fused input k (broadcast to the output shape); the last step is the result. The runtime
/// runs it tile by tile, with the scalar functions of ``UnaryFunction`` and ``BinaryFunction``
/// lifted to SIMD, so a fused region needs no kernel of its own.
public struct FusedProgram: Hashable, Sendable, CustomStringConvertible {
    /// One instruction. Operands are indices of earlier steps.
    public enum Step: Hashable, Sendable {
        case input(Int)
        case constant(Double)
        case unary(UnaryFunction, Int)
        case binary(BinaryFunction, Int, Int)
        case select(Int, Int, Int)
        case cast(DType, Int)
    }

    /// The instructions; the last one is the result.
    public var steps: [Step]
    /// The dtype of each step's value.
    public var dtypes: [DType]

    /// Creates a program; `dtypes[i]` is the dtype of step i.
    public init(steps: [Step], dtypes: [DType]) {
        self.steps = steps
        self.dtypes = dtypes
    }

    /// The number of fused inputs the program reads.
    public var inputCount: Int {
        steps.reduce(0) { m, s in if case .input(let k) = s { return Swift.max(m, k + 1) } else { return m } }
    }

    /// The result dtype.
    public var resultDType: DType { dtypes.last ?? .float32 }

    public var description: String {
        steps.enumerated().map { i, s -> String in
            switch s {
            case .input(let k): return "r\(i) = in\(k)"
            case .constant(let c): return "r\(i) = \(c)"
            case .unary(let f, let a): return "r\(i) = \(f.name)(r\(a))"
            case .binary(let f, let a, let b): return "r\(i) = \(f.rawValue)(r\(a), r\(b))"
            case .select(let c, let a, let b): return "r\(i) = where(r\(c), r\(a), r\(b))"
            case .cast(let d, let a): return "r\(i) = cast<\(d.shortName)>(r\(a))"
            }
        }.joined(separator: "; ")
    }
}
