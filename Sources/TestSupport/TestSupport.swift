@_exported import Graph

/// Bit operations written for the tests, independent of the runtime's kernels.
public enum ReferenceBits {
    /// A logical shift of the `width`-bit two's-complement pattern of `a` by `b` (left or right),
    /// read back as a signed `width`-bit value; counts outside 0 ..< `width` give 0.
    public static func shift(_ a: Int64, _ b: Int64, left: Bool, width: Int) -> Int64 {
        guard b >= 0, b < Int64(width) else { return 0 }
        let mask: UInt64 = width == 64 ? .max : (1 << UInt64(width)) - 1
        let bits = UInt64(bitPattern: a) & mask
        let r = (left ? bits << UInt64(b) : bits >> UInt64(b)) & mask
        let signBit: UInt64 = 1 << UInt64(width - 1)
        return r & signBit != 0 ? Int64(bitPattern: r | ~mask) : Int64(bitPattern: r)
    }
}
