import CKernels
import Graph

extension NarrowFormat {
    /// The value a cast of `x` to this format and back gives (floats rounded; for integer
    /// formats, `x` truncated toward zero and wrapped).
    public func round(_ x: Double) -> Double {
        kind.isFloatingPoint ? sg_narrow_round(code, x) : decode(encode(x))
    }

    /// The bits of `x` in this format (in the low `bitWidth` bits), after rounding or wrapping.
    public func encode(_ x: Double) -> UInt32 { sg_narrow_encode(code, x) }

    /// The bits of an integer in this format (wrapped).
    public func encode(_ x: Int64) -> UInt32 { UInt32(truncatingIfNeeded: sg_narrow_wrap(code, x)) }

    /// The value of `bits` (the low `bitWidth` bits) in this format.
    public func decode(_ bits: UInt32) -> Double { sg_narrow_decode(code, bits) }
}
