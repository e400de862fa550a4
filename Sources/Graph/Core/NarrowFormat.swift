/// A storage type narrower than SymGraph's dtypes — float16, bfloat16, the 8- and 4-bit float
/// formats, or a narrow integer type — emulated in a wider dtype.
///
/// SymGraph computes in float32/float64 and int32/int64. A value "of" a narrow type is kept
/// in the wider dtype and rounded (floats) or wrapped (integers) to the set of values the
/// narrow type can represent, by the elementwise function ``UnaryFunction/narrow(_:)``:
/// `x.narrow(to: .float8E4M3FN)` is what a cast of `x` to float8 and back gives. Arithmetic
/// between such values runs in the wide dtype; only the explicit `narrow` steps round.
/// ONNX import uses this for the element types the IR does not have (docs/onnx.md).
public struct NarrowFormat: Hashable, Sendable, CustomStringConvertible {
    /// The narrow type. Raw values are the C kernels' `SG_NF_*` codes.
    public enum Kind: Int32, Hashable, Sendable, CaseIterable {
        case float16 = 0, bfloat16, float8E4M3FN, float8E4M3FNUZ, float8E5M2, float8E5M2FNUZ, float4E2M1, float8E8M0
        case int8, uint8, int16, uint16, int4, uint4, int2, uint2, uint32

        /// Whether values of this type are floating point (narrowed from float32/float64).
        public var isFloatingPoint: Bool { rawValue <= Kind.float8E8M0.rawValue }

        /// Bits per element.
        public var bitWidth: Int {
            switch self {
            case .float16, .bfloat16, .int16, .uint16: return 16
            case .float8E4M3FN, .float8E4M3FNUZ, .float8E5M2, .float8E5M2FNUZ, .float8E8M0, .int8, .uint8: return 8
            case .float4E2M1, .int4, .uint4: return 4
            case .int2, .uint2: return 2
            case .uint32: return 32
            }
        }
    }

    /// How float8 E8M0 (a power of two) rounds: up (the default, as ONNX), to nearest, or down.
    public enum Rounding: Int32, Hashable, Sendable { case up = 0, nearest = 64, down = 128 }

    /// The narrow type.
    public var kind: Kind
    /// Overflow (and infinity) becomes the largest finite value instead of infinity or NaN
    /// (the float8 formats and E8M0; float4E2M1, which has neither, always saturates).
    public var saturate: Bool
    /// E8M0 only.
    public var rounding: Rounding

    /// A format of `kind`; `saturate` and `rounding` matter for the float8 formats (and E8M0) only.
    public init(_ kind: Kind, saturate: Bool = true, rounding: Rounding = .up) {
        self.kind = kind
        self.saturate = saturate
        self.rounding = rounding
    }

    /// IEEE half precision (overflow to infinity).
    public static let float16 = NarrowFormat(.float16, saturate: false)
    /// bfloat16 (overflow to infinity).
    public static let bfloat16 = NarrowFormat(.bfloat16, saturate: false)
    /// float8 E4M3FN, saturating (overflow to ±448).
    public static let float8E4M3FN = NarrowFormat(.float8E4M3FN)
    /// float8 E5M2, saturating (overflow to ±57344).
    public static let float8E5M2 = NarrowFormat(.float8E5M2)

    /// The code passed to the C kernels (kind plus flags).
    public var code: Int32 { kind.rawValue | (saturate ? 32 : 0) | (kind == .float8E8M0 ? rounding.rawValue : 0) }

    /// The kind, with the non-default options.
    public var description: String {
        var s = "\(kind)"
        if kind.isFloatingPoint, kind != .float16, kind != .bfloat16, kind != .float4E2M1, !saturate { s += ", no saturation" }
        if kind == .float8E8M0, rounding != .up { s += ", rounding \(rounding)" }
        return s
    }
}
