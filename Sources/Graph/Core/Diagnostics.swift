/// One problem found while building or checking a graph, like a compiler diagnostic.
public struct Diagnostic: Sendable, CustomStringConvertible, Hashable {
    /// The name of the node at fault.
    public var nodeName: String
    /// The op, as text (`matmul`, `reshape([2, 3])`, …).
    public var op: String
    /// The shapes and dtypes of the node's inputs, as text.
    public var inputs: [String]
    /// What is wrong.
    public var message: String
    /// Where the user created the node.
    public var location: SourceLocation

    /// Creates a diagnostic.
    public init(nodeName: String, op: String, inputs: [String], message: String, location: SourceLocation) {
        self.nodeName = nodeName
        self.op = op
        self.inputs = inputs
        self.message = message
        self.location = location
    }

    public var description: String {
        let ins = inputs.isEmpty ? "" : " with inputs (\(inputs.joined(separator: ", ")))"
        return "\(location): error: node '\(nodeName)' (\(op))\(ins): \(message)"
    }
}

/// Errors thrown by graph building, checking, differentiation and execution.
///
/// Every case that concerns a node names it and the user's source line.
public enum GraphError: Error, CustomStringConvertible, Sendable {
    /// One or more problems recorded while the graph was built.
    case invalidGraph([Diagnostic])
    /// A single problem with one node (at run time or in a transformation).
    case node(Diagnostic)
    /// A value (array, feed, file) that does not fit what was asked.
    case invalidValue(String)

    public var description: String {
        switch self {
        case .invalidGraph(let ds):
            let head = ds.count == 1 ? "1 error in graph" : "\(ds.count) errors in graph"
            return head + ":\n" + ds.map { "  " + $0.description }.joined(separator: "\n")
        case .node(let d): return d.description
        case .invalidValue(let s): return s
        }
    }

    /// The diagnostics this error carries.
    public var diagnostics: [Diagnostic] {
        switch self {
        case .invalidGraph(let ds): return ds
        case .node(let d): return [d]
        case .invalidValue: return []
        }
    }
}

extension GraphError: CustomDebugStringConvertible {
    public var debugDescription: String { description }
}
