/// Where in the user's code a node was created.
///
/// Builder functions take `file: String = #fileID, line: Int = #line` default
/// arguments, so every node remembers the line that made it. Swift operators
/// (`+`, `*`, …) cannot take default arguments; nodes they create inherit the
/// location of their most recently created operand and are marked `isApproximate`.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// The file, as `#fileID` gives it (`Module/File.swift`).
    public var file: String
    /// The line in `file`.
    public var line: Int
    /// True when the location was inherited from an operand (operator syntax).
    public var isApproximate: Bool

    /// Creates a location.
    public init(file: String, line: Int, isApproximate: Bool = false) {
        self.file = file
        self.line = line
        self.isApproximate = isApproximate
    }

    /// A location for nodes the library makes on its own (no user line).
    public static let unknown = SourceLocation(file: "<unknown>", line: 0)

    public var description: String { isApproximate ? "near \(file):\(line)" : "\(file):\(line)" }
}
