/// The index of a node in its graph.
public typealias NodeID = Int

/// What part of a program a node belongs to (for pictures and reports).
public enum NodeRole: String, Hashable, Sendable {
    /// Built by the user (the forward computation).
    case forward
    /// Built by `gradients(of:with:)`.
    case gradient
    /// A variable update (assign ops and their inputs made by training optimizers).
    case update
}

/// One node of a graph: an op applied to input nodes, with its inferred dtype and shape.
public struct Node: Sendable {
    /// The node's index in its graph.
    public let id: NodeID
    /// What the node computes.
    public let op: Op
    /// Data inputs, in the op's order.
    public let inputs: [NodeID]
    /// Nodes that must run before this one although it does not read their values.
    public let controlInputs: [NodeID]
    /// Inferred element type.
    public let dtype: DType
    /// Inferred static shape (unknown dimensions are `nil`).
    public let shape: Shape
    /// Unique name within the graph, including its name scope (`layer1/matmul_3`).
    public let name: String
    /// Where the user created this node (for gradient nodes: the forward node's creation site).
    public let location: SourceLocation
    /// Forward, gradient or update.
    public let role: NodeRole
    /// True when inference failed for this node or an input (its shape is a guess).
    public let isInvalid: Bool

    /// The node's name scope (`layer1/block2`), or "" at the top level.
    public var scope: String {
        guard let i = name.lastIndex(of: "/") else { return "" }
        return String(name[..<i])
    }
}
