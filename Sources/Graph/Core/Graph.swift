

/// A symbolic computation graph: placeholders, variables, constants and ops.
///
/// Build a graph with the builder functions (`placeholder`, `variable`, `matmul`,
/// operators, …); run it with a `Session`. Graphs are append-only: nodes are never
/// removed or changed, so a `Session` compiled for part of a graph stays valid when
/// more nodes are added later (the session notices new variables and initializes them
/// on first use).
///
/// Building never throws: problems (shape mismatches, bad axes, …) are recorded as
/// ``Diagnostic``s and surface together from ``validate()``, which a `Session` calls.
public final class Graph: @unchecked Sendable {
    private struct State {
        var nodes: [Node] = []
        var names: [String: NodeID] = [:]
        var nameCounters: [String: Int] = [:]
        var scopes: [String] = [] {
            didSet { scopePrefix = scopes.isEmpty ? "" : scopes.joined(separator: "/") + "/" }
        }
        /// `scopes` joined with "/" plus a trailing "/" (or "" at the top level).
        var scopePrefix = ""
        var diagnostics: [Diagnostic] = []
        var role: NodeRole = .forward
        var locationOverride: SourceLocation? = nil
        var controlScope: [NodeID] = []
    }
    private let state = Locked(State())

    /// Creates an empty graph.
    public init() {}

    /// The number of nodes (also the graph's version: it only grows).
    public var nodeCount: Int { state.withLock { $0.nodes.count } }

    /// A snapshot of every node, in creation order (a topological order).
    public var nodes: [Node] { state.withLock { $0.nodes } }

    /// The node with this id.
    public func node(_ id: NodeID) -> Node { state.withLock { $0.nodes[id] } }

    /// The node with this full name, if any.
    public func node(named name: String) -> Node? {
        state.withLock { s in s.names[name].map { s.nodes[$0] } }
    }

    /// The tensor handle for a node id.
    public func tensor(_ id: NodeID) -> Tensor { Tensor(graph: self, id: id) }

    /// Every problem recorded so far.
    public var diagnostics: [Diagnostic] { state.withLock { $0.diagnostics } }

    /// Throws ``GraphError/invalidGraph(_:)`` listing every recorded problem, if any.
    public func validate() throws {
        let ds = diagnostics
        if !ds.isEmpty { throw GraphError.invalidGraph(ds) }
    }

    // MARK: Scopes

    /// Runs `body` with `name` pushed as a name scope: nodes made inside are named `name/…`.
    @discardableResult
    public func withScope<R>(_ name: String, _ body: () throws -> R) rethrows -> R {
        state.withLock { $0.scopes.append(name) }
        defer { state.withLock { _ = $0.scopes.popLast() } }
        return try body()
    }

    /// Runs `body` with every node it creates marked with `role` (used by autodiff and optimizers).
    public func withRole<R>(_ role: NodeRole, _ body: () throws -> R) rethrows -> R {
        let old = state.withLock { s -> NodeRole in let o = s.role; s.role = role; return o }
        defer { state.withLock { $0.role = old } }
        return try body()
    }

    /// Runs `body` with every node it creates attributed to `location`
    /// (autodiff uses it so gradient nodes name the forward node's line).
    public func withLocation<R>(_ location: SourceLocation, _ body: () throws -> R) rethrows -> R {
        let old = state.withLock { s -> SourceLocation? in let o = s.locationOverride; s.locationOverride = location; return o }
        defer { state.withLock { $0.locationOverride = old } }
        return try body()
    }

    /// Runs `body` so that every node it creates runs after `dependencies`
    /// (TensorFlow's `control_dependencies`).
    /// A dependency from another graph is reported (against that tensor's name and line) and ignored.
    public func withControlDependencies<R>(_ dependencies: [Tensor], _ body: () throws -> R) rethrows -> R {
        for t in dependencies where t.graph !== self {
            record(Diagnostic(nodeName: t.name, op: t.node.op.name, inputs: [],
                              message: "control dependency '\(t.name)' belongs to a different graph", location: t.location))
        }
        let ids = dependencies.filter { $0.graph === self }.map(\.id)
        let old = state.withLock { s -> [NodeID] in let o = s.controlScope; s.controlScope += ids; return o }
        defer { state.withLock { $0.controlScope = old } }
        return try body()
    }

    // MARK: Adding nodes

    /// Adds a node after inferring its dtype and shape. Never throws: an inference
    /// failure is recorded as a diagnostic and the node is marked invalid.
    ///
    /// This is the one door through which every node enters a graph.
    @discardableResult
    public func addNode(_ op: Op, inputs: [Tensor], controlInputs: [Tensor] = [], name: String? = nil,
                        type: TypeInfo? = nil, location: SourceLocation) -> Tensor {
        for t in inputs + controlInputs where t.graph !== self {
            // A foreign tensor: record the problem (naming the node made in its place) and treat it as absent.
            let t = addInvalid(op, location: location, name: name)
            record(Diagnostic(nodeName: t.name, op: op.name, inputs: [],
                              message: "an input belongs to a different graph", location: t.location))
            return t
        }
        return state.withLock { s in
            let ids = inputs.map(\.id)
            let ins = ids.map { s.nodes[$0] }
            let loc = s.locationOverride ?? location
            let fullName = Graph.uniqueName(&s, base: name ?? op.baseName)
            let inheritedInvalid = ins.contains { $0.isInvalid }
            var dtype = DType.float32
            var shape = Shape.scalar
            var invalid = inheritedInvalid
            let inferred: Result<TypeInfo, InferenceProblem> = type.map { .success($0) }
                ?? op.infer(inputs: ins.map { ($0.dtype, $0.shape) })
            switch inferred {
            case .success(let r):
                dtype = r.dtype; shape = r.shape
            case .failure(let problem):
                dtype = problem.dtypeGuess ?? ins.first?.dtype ?? .float32
                shape = problem.shapeGuess ?? Shape(Array(repeating: nil, count: ins.first?.shape.rank ?? 0))
                if !inheritedInvalid {
                    s.diagnostics.append(Diagnostic(
                        nodeName: fullName, op: op.name,
                        inputs: ins.map { "\($0.name): \($0.dtype.shortName)\($0.shape)" },
                        message: problem.message, location: loc))
                }
                invalid = true
            }
            let id = s.nodes.count
            let node = Node(id: id, op: op, inputs: ids, controlInputs: controlInputs.map(\.id) + s.controlScope,
                            dtype: dtype, shape: shape, name: fullName, location: loc, role: s.role,
                            isInvalid: invalid)
            s.nodes.append(node)
            s.names[fullName] = id
            return Tensor(graph: self, id: id)
        }
    }

    /// Records a diagnostic against an existing node (used by builder checks that
    /// need more context than inference has).
    public func record(_ diagnostic: Diagnostic) {
        state.withLock { $0.diagnostics.append(diagnostic) }
    }

    /// Records a diagnostic about `node`, a node a builder has just made, and marks that node
    /// invalid so nodes built on it do not add a cascade of follow-on errors.
    func record(_ diagnostic: Diagnostic, invalidating node: Tensor) {
        state.withLock { s in
            s.diagnostics.append(diagnostic)
            guard node.graph === self, node.id >= 0, node.id < s.nodes.count else { return }
            let n = s.nodes[node.id]
            s.nodes[node.id] = Node(id: n.id, op: n.op, inputs: n.inputs, controlInputs: n.controlInputs,
                                    dtype: n.dtype, shape: n.shape, name: n.name, location: n.location,
                                    role: n.role, isInvalid: true)
        }
    }

    private func addInvalid(_ op: Op, location: SourceLocation, name: String?) -> Tensor {
        state.withLock { s in
            let id = s.nodes.count
            let fullName = Graph.uniqueName(&s, base: name ?? op.baseName)
            s.nodes.append(Node(id: id, op: .constant(HostTensor(scalar: Float(0))), inputs: [], controlInputs: [],
                                dtype: .float32, shape: .scalar, name: fullName, location: s.locationOverride ?? location,
                                role: s.role, isInvalid: true))
            s.names[fullName] = id
            return Tensor(graph: self, id: id)
        }
    }

    private static func uniqueName(_ s: inout State, base: String) -> String {
        let full = s.scopePrefix.isEmpty ? base : s.scopePrefix + base
        if s.names[full] == nil { return full }
        var k = s.nameCounters[full, default: 1]
        var candidate = full + "_" + String(k)
        while s.names[candidate] != nil {
            k += 1
            candidate = full + "_" + String(k)
        }
        s.nameCounters[full] = k + 1
        return candidate
    }

    /// Whether a name is already taken.
    func isNameTaken(_ name: String) -> Bool { state.withLock { $0.names[name] != nil } }
}

extension Op {
    /// The default node name for an op (`matmul`, `add`, `relu`, …).
    var baseName: String {
        switch self {
        case .unary(let f): return f.baseName
        case .binary(let f): return f.rawValue
        case .reduce(let f, _, _): return f.rawValue
        case .argReduce(let f, _, _): return f.rawValue
        case .cast: return "cast"
        case .matmul: return "matmul"
        case .reshape: return "reshape"
        case .transpose: return "transpose"
        case .broadcastTo: return "broadcastTo"
        case .squeeze: return "squeeze"
        case .expandDims: return "expandDims"
        case .concat: return "concat"
        case .gather: return "gather"
        case .tile: return "tile"
        case .softmax: return "softmax"
        case .logSoftmax: return "logSoftmax"
        case .oneHot: return "oneHot"
        case .constant: return "const"
        case .assign, .assignMatMul: return name
        case .random: return name
        default: return name
        }
    }
}
