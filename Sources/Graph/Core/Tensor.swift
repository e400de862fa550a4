/// A symbolic tensor: a handle to one node of a ``Graph``.
///
/// Tensors are cheap values (a graph reference and a node id). Operators and
/// methods on them add nodes to their graph:
///
/// ```swift
/// let h = relu(x.matmul(w) + b)
/// let loss = (h * h).mean()
/// ```
public struct Tensor: Hashable, @unchecked Sendable, CustomStringConvertible {
    /// The graph the node belongs to.
    public let graph: Graph
    /// The node's id in `graph`.
    public let id: NodeID

    /// Creates a handle; `id` must be a node of `graph`.
    public init(graph: Graph, id: NodeID) {
        self.graph = graph
        self.id = id
    }

    /// The node this tensor refers to.
    public var node: Node { graph.node(id) }
    /// Inferred dtype.
    public var dtype: DType { node.dtype }
    /// Inferred static shape.
    public var shape: Shape { node.shape }
    /// Number of dimensions.
    public var rank: Int { node.shape.rank }
    /// The node's unique name.
    public var name: String { node.name }
    /// Where the node was created.
    public var location: SourceLocation { node.location }

    public static func == (a: Tensor, b: Tensor) -> Bool { a.graph === b.graph && a.id == b.id }
    public func hash(into h: inout Hasher) {
        h.combine(ObjectIdentifier(graph))
        h.combine(id)
    }

    public var description: String {
        let n = node
        return "Tensor(\(n.name): \(n.op.name) \(n.dtype.shortName)\(n.shape))"
    }

    /// Adds a node in this tensor's graph.
    @inlinable
    func make(_ op: Op, _ inputs: [Tensor], name: String? = nil, _ loc: SourceLocation) -> Tensor {
        graph.addNode(op, inputs: inputs, name: name, location: loc)
    }

    /// A scalar constant of this tensor's dtype (bool tensors get float32 constants).
    func scalar(_ v: Double, _ loc: SourceLocation) -> Tensor {
        graph.constant(v, dtype: dtype.isNumeric ? dtype : .float32, location: loc)
    }

    /// The location for an operator's node: the latest-created operand's, marked approximate.
    static func operatorLocation(_ ts: Tensor...) -> SourceLocation {
        var loc = (ts.max { $0.id < $1.id }?.location) ?? .unknown
        loc.isApproximate = true
        return loc
    }
}
