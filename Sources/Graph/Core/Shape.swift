/// A static tensor shape whose dimensions may be unknown until run time.
///
/// `nil` stands for an unknown dimension, typically the batch size:
/// `Shape([nil, 784])`. Array literals work: `let s: Shape = [nil, 784]`.
public struct Shape: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// The dimensions, outermost first; `nil` is unknown.
    public var dims: [Int?]

    /// Creates a shape from possibly unknown dimensions.
    public init(_ dims: [Int?]) { self.dims = dims }
    /// Creates a fully known shape.
    public init(known dims: [Int]) { self.dims = dims.map { Optional($0) } }
    public init(arrayLiteral elements: Int?...) { self.dims = elements }

    /// The shape of a scalar.
    public static let scalar = Shape([])

    /// Number of dimensions.
    public var rank: Int { dims.count }
    /// Whether every dimension is known.
    public var isFullyKnown: Bool { dims.allSatisfy { $0 != nil } }
    /// The dimensions as integers, when all are known.
    public var known: [Int]? { isFullyKnown ? dims.map { $0! } : nil }
    /// The element count, when all dimensions are known.
    public var elementCount: Int? { known.map { $0.reduce(1, *) } }
    /// Dimension `i`.
    public subscript(i: Int) -> Int? { dims[i] }

    public var description: String {
        "[" + dims.map { $0.map(String.init) ?? "?" }.joined(separator: ", ") + "]"
    }

    /// Whether a concrete shape is compatible with this static shape:
    /// same rank, and every known dimension equal.
    public func accepts(_ concrete: [Int]) -> Bool {
        guard concrete.count == dims.count else { return false }
        for (d, c) in zip(dims, concrete) where d != nil && d != c { return false }
        return true
    }

    /// NumPy broadcasting of two shapes. Returns nil when they cannot broadcast.
    /// An unknown dimension against 1 stays unknown; against a known n > 1 it becomes n
    /// (a run with any other value fails the run-time shape check).
    public static func broadcast(_ a: Shape, _ b: Shape) -> Shape? {
        let r = max(a.rank, b.rank)
        var out = [Int?](repeating: nil, count: r)
        for i in 0..<r {
            let da: Int? = i < r - a.rank ? 1 : a.dims[i - (r - a.rank)]
            let db: Int? = i < r - b.rank ? 1 : b.dims[i - (r - b.rank)]
            switch (da, db) {
            case let (x?, y?):
                if x == y { out[i] = x } else if x == 1 { out[i] = y } else if y == 1 { out[i] = x } else { return nil }
            case let (x?, nil): out[i] = x == 1 ? nil : x
            case let (nil, y?): out[i] = y == 1 ? nil : y
            case (nil, nil): out[i] = nil
            }
        }
        return Shape(out)
    }
}

/// Normalizes an axis that may be negative (counted from the end) against a rank.
/// Returns nil when it is out of range.
@inlinable
public func normalizeAxis(_ axis: Int, rank: Int) -> Int? {
    let a = axis < 0 ? axis + rank : axis
    return (a >= 0 && a < rank) ? a : nil
}
