/// The element type of a tensor.
public enum DType: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// 32-bit IEEE float, the default for activations and weights.
    case float32
    /// 64-bit IEEE float, used by gradient checks.
    case float64
    /// 32-bit signed integer (labels, indices).
    case int32
    /// 64-bit signed integer.
    case int64
    /// Boolean (results of comparisons), stored as one byte per element.
    case bool

    /// Whether the type is a floating-point type.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }
    /// Whether the type is an integer type.
    public var isInteger: Bool { self == .int32 || self == .int64 }
    /// Whether the type is a number (float or integer), i.e. not `bool`.
    public var isNumeric: Bool { self != .bool }
    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        case .bool: return 1
        }
    }
    /// The short name used in dumps and pictures (`f32`, `i64`, …).
    public var shortName: String {
        switch self {
        case .float32: return "f32"
        case .float64: return "f64"
        case .int32: return "i32"
        case .int64: return "i64"
        case .bool: return "bool"
        }
    }
    public var description: String { rawValue }
}
