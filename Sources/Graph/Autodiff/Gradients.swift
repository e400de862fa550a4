// Reverse-mode automatic differentiation as a graph-to-graph transformation.
//
// `gradients(of:with:)` walks the nodes between the targets and the loss in reverse
// topological order and, for each one, adds the nodes of its gradient rule (one file per
// op family: Gradients+Elementwise, +MatMul, +Reduction, +Shape, +NeuralNet, +Fused).
// The result is ordinary graph nodes, so gradients of gradients work the same way.

/// What `gradients(of:with:)` does for a target the loss does not depend on.
public enum DisconnectedPolicy: Sendable {
    /// Throw a ``GraphError`` naming the target (the default: almost always a bug).
    case raise
    /// Return zeros shaped like the target.
    case zeros
}

extension Graph {
    /// Reverse-mode gradients of `loss` with respect to each tensor of `wrt`.
    ///
    /// A scalar loss is seeded with 1. A non-scalar `loss` needs a `cotangent` of its
    /// shape: the result is then the vector-Jacobian product, the gradient of
    /// `sum(loss * cotangent)`. Contributions over several paths are summed.
    ///
    /// Gradient nodes are ordinary nodes (role ``NodeRole/gradient``, scope `gradients`)
    /// attributed to the creation site of the forward node they differentiate, so the
    /// result can itself be differentiated (higher-order derivatives).
    ///
    /// - Parameters:
    ///   - loss: The value to differentiate (floating point).
    ///   - wrt: Floating-point tensors of this graph (any node, not only variables).
    ///   - cotangent: The output cotangent for a non-scalar `loss` (default: 1 for a scalar loss).
    ///   - disconnected: What to do for a target the loss does not depend on.
    /// - Returns: One gradient per target, shaped and typed like it.
    /// - Throws: ``GraphError`` when a target is disconnected (with `.raise`), is not floating
    ///   point, or the gradient must flow through a non-differentiable op (naming that node).
    public func gradients(of loss: Tensor, with wrt: [Tensor], cotangent: Tensor? = nil,
                          disconnected: DisconnectedPolicy = .raise,
                          file: String = #fileID, line: Int = #line) throws -> [Tensor] {
        let loc = SourceLocation(file: file, line: line)
        let seed = try Autodiff.seed(loss, cotangent: cotangent, in: self, callSite: loc)
        return try Autodiff.run(in: self, seeds: [seed], wrt: wrt, policy: disconnected, callSite: loc)
    }

    /// Reverse-mode gradients of the sum of several scalar `losses` with respect to `wrt`.
    ///
    /// Each loss is seeded with 1; contributions of every loss and every path are summed.
    ///
    /// - Parameters:
    ///   - losses: Scalar floating-point tensors of this graph.
    ///   - wrt: Floating-point tensors to differentiate with respect to.
    ///   - disconnected: What to do for a target no loss depends on.
    /// - Returns: One gradient per target.
    /// - Throws: See ``gradients(of:with:cotangent:disconnected:file:line:)``.
    public func gradients(of losses: [Tensor], with wrt: [Tensor], disconnected: DisconnectedPolicy = .raise,
                          file: String = #fileID, line: Int = #line) throws -> [Tensor] {
        let loc = SourceLocation(file: file, line: line)
        guard !losses.isEmpty else { throw GraphError.invalidValue("\(loc): gradients(of:) needs at least one loss") }
        let seeds = try losses.map { try Autodiff.seed($0, cotangent: nil, in: self, callSite: loc) }
        return try Autodiff.run(in: self, seeds: seeds, wrt: wrt, policy: disconnected, callSite: loc)
    }

    /// The Hessian-vector product `H v`, where `H` is the Hessian of the scalar `loss` with
    /// respect to `x`, built by differentiating the gradient (reverse over reverse):
    /// `∇ₓ (∇ₓ loss · v)`.
    ///
    /// - Parameters:
    ///   - loss: A scalar floating-point tensor.
    ///   - x: The point's tensor (floating point).
    ///   - v: A tensor shaped like `x`.
    /// - Returns: A tensor shaped like `x` (zeros where the loss is linear in `x`).
    /// - Throws: When the loss does not depend on `x`, or through a non-differentiable op.
    public func hessianVectorProduct(of loss: Tensor, with x: Tensor, vector v: Tensor,
                                     file: String = #fileID, line: Int = #line) throws -> Tensor {
        let g = try gradients(of: loss, with: [x], file: file, line: line)[0]
        let hv = try gradients(of: g, with: [x], cotangent: v, disconnected: .zeros, file: file, line: line)
        return hv[0]
    }
}

/// The result of a gradient rule for one input of a node.
enum InputGradient {
    /// The gradient contribution for this input.
    case gradient(Tensor)
    /// The gradient is zero by definition (`stopGradient`, a `where` condition, the shape-only
    /// input of a `*Like` op): nothing flows, and that is not an error.
    case zero
    /// The op has no gradient with respect to this input; the reason is shown to the user
    /// when a gradient must flow there.
    case nonDifferentiable(String)
}

/// Everything a gradient rule needs: the forward node, its inputs and output, the
/// cotangent of the output, and which inputs need a gradient.
struct GradientContext {
    let graph: Graph
    let node: Node
    /// The forward node's output.
    let y: Tensor
    /// The forward node's inputs.
    let inputs: [Tensor]
    /// The cotangent of the output (shaped and typed like `y`).
    let g: Tensor
    /// `needs[i]`: whether input i needs a gradient (rules may skip the others).
    let needs: [Bool]

    /// Input `i`.
    func x(_ i: Int) -> Tensor { inputs[i] }

    /// A scalar constant of `dtype` (default: the cotangent's dtype).
    func const(_ v: Double, _ dtype: DType? = nil) -> Tensor {
        graph.constant(v, dtype: dtype ?? g.dtype, location: node.location)
    }

    /// Adds a node of `op` (used for the gradient helper ops).
    func make(_ op: Op, _ ins: [Tensor]) -> Tensor {
        graph.addNode(op, inputs: ins, location: node.location)
    }

    /// Zeros shaped and typed like `t`.
    func zeros(like t: Tensor) -> Tensor {
        make(.broadcastLike, [graph.constant(0, dtype: t.dtype, location: node.location), t])
    }

    /// `t` (shaped like the output of an elementwise op) summed down to the shape of input `i`,
    /// unless the static shapes prove that input `i` was not broadcast.
    func unbroadcast(_ t: Tensor, to i: Int) -> Tensor {
        let s = inputs[i].shape
        let others = inputs.indices.filter { $0 != i }.map { inputs[$0].shape }
        return Autodiff.mayBroadcast(s, others: others, out: y.shape) ? make(.sumLike, [t, inputs[i]]) : t
    }

    /// A thrown error about this node.
    func error(_ message: String) -> GraphError {
        GraphError.node(Diagnostic(nodeName: node.name, op: node.op.name,
                                   inputs: inputs.map { "\($0.name): \($0.dtype.shortName)\($0.shape)" },
                                   message: message, location: node.location))
    }

    /// Results for inputs that need no gradient are `.zero`; `body` gives the others.
    func each(_ body: (Int) throws -> InputGradient) rethrows -> [InputGradient] {
        try inputs.indices.map { needs[$0] ? try body($0) : .zero }
    }
}

/// The traversal and its helpers (internal).
enum Autodiff {
    /// The seed (loss, cotangent) of one loss.
    static func seed(_ loss: Tensor, cotangent: Tensor?, in graph: Graph, callSite: SourceLocation) throws -> (Tensor, Tensor) {
        guard loss.graph === graph else {
            throw GraphError.invalidValue("\(callSite): the loss '\(loss.name)' belongs to a different graph")
        }
        let n = loss.node
        guard n.dtype.isFloatingPoint else {
            throw GraphError.node(Diagnostic(nodeName: n.name, op: n.op.name, inputs: [],
                                             message: "cannot differentiate a \(n.dtype) value: the loss must be floating point",
                                             location: n.location))
        }
        return try graph.withScope("gradients") {
            try graph.withRole(.gradient) {
                try graph.withLocation(n.location) {
                    if let c = cotangent {
                        guard c.graph === graph else {
                            throw GraphError.invalidValue("\(callSite): the cotangent '\(c.name)' belongs to a different graph")
                        }
                        guard c.dtype == n.dtype, let b = Shape.broadcast(c.shape, n.shape), b.rank == n.shape.rank else {
                            throw GraphError.node(Diagnostic(
                                nodeName: n.name, op: n.op.name, inputs: ["cotangent \(c.name): \(c.dtype.shortName)\(c.shape)"],
                                message: "the cotangent must have the loss's dtype \(n.dtype) and shape \(n.shape)",
                                location: n.location))
                        }
                        if c.shape == n.shape && n.shape.isFullyKnown { return (loss, c) }
                        return (loss, graph.addNode(.broadcastLike, inputs: [c, loss], location: n.location))
                    }
                    guard n.shape.elementCount == 1 else {
                        throw GraphError.node(Diagnostic(
                            nodeName: n.name, op: n.op.name, inputs: [],
                            message: "the loss has shape \(n.shape), not a scalar: pass a cotangent of that shape "
                                + "(a vector-Jacobian product) or reduce it (.sum(), .mean()) first",
                            location: n.location))
                    }
                    let one = graph.constant(1, dtype: n.dtype, location: n.location)
                    if n.shape.rank == 0 { return (loss, one) }
                    return (loss, graph.addNode(.broadcastLike, inputs: [one, loss], location: n.location))
                }
            }
        }
    }

    /// Builds the gradient graph of `sum(seed.loss * seed.cotangent)` with respect to `wrt`.
    static func run(in graph: Graph, seeds: [(Tensor, Tensor)], wrt: [Tensor], policy: DisconnectedPolicy,
                    callSite: SourceLocation) throws -> [Tensor] {
        for t in wrt {
            guard t.graph === graph else {
                throw GraphError.invalidValue("\(callSite): the gradient target '\(t.name)' belongs to a different graph")
            }
            let n = t.node
            guard n.dtype.isFloatingPoint else {
                throw GraphError.node(Diagnostic(
                    nodeName: n.name, op: n.op.name, inputs: [],
                    message: "cannot take a gradient with respect to a \(n.dtype) tensor: only floating-point tensors have gradients",
                    location: n.location))
            }
        }
        let result = try graph.withScope("gradients") {
            try graph.withRole(.gradient) { try traverse(graph, seeds: seeds, wrt: wrt.map(\.id)) }
        }
        return try wrt.enumerated().map { k, t in
            if let g = result.gradients[k] { return g }
            let n = t.node
            if result.isAncestor(t.id) || policy == .zeros {
                // Connected only through stopGradient / where conditions (gradient zero), or zeros asked for.
                return graph.withScope("gradients") {
                    graph.withRole(.gradient) {
                        graph.withLocation(n.location) {
                            graph.addNode(.broadcastLike, inputs: [graph.constant(0, dtype: n.dtype, location: n.location), t],
                                          location: n.location)
                        }
                    }
                }
            }
            let lossNames = seeds.map { "'\($0.0.name)'" }.joined(separator: ", ")
            throw GraphError.node(Diagnostic(
                nodeName: n.name, op: n.op.name, inputs: [],
                message: "the loss \(lossNames) does not depend on '\(n.name)' (disconnected gradient, requested at \(callSite)); "
                    + "pass disconnected: .zeros to get zeros",
                location: n.location))
        }
    }

    struct Result {
        /// The gradient of each target (nil: no contribution reached it).
        var gradients: [Tensor?]
        /// Whether a node is an ancestor of some loss (by data edges).
        var ancestor: [Bool]
        func isAncestor(_ id: NodeID) -> Bool { id < ancestor.count && ancestor[id] }
    }

    /// The reverse sweep. Also used by rules that expand a fused op (nested differentiation).
    /// Nodes below `floor` are not differentiated through (they only collect contributions):
    /// an expanded fused op treats its inputs as leaves.
    static func traverse(_ graph: Graph, seeds: [(Tensor, Tensor)], wrt: [NodeID], floor: NodeID = 0) throws -> Result {
        let nodes = graph.nodes
        let maxID = seeds.map(\.0.id).max() ?? -1
        var ancestor = [Bool](repeating: false, count: maxID + 1)
        for (l, _) in seeds { ancestor[l.id] = true }
        for id in stride(from: maxID, through: 0, by: -1) where ancestor[id] {
            for i in nodes[id].inputs { ancestor[i] = true }
        }
        guard let minWrt = wrt.min(), minWrt <= maxID else {
            return Result(gradients: wrt.map { _ in nil }, ancestor: ancestor)
        }
        var descendant = [Bool](repeating: false, count: maxID + 1)
        for w in wrt where w <= maxID { descendant[w] = true }
        for id in minWrt...maxID where !descendant[id] {
            let n = nodes[id]
            if n.inputs.indices.contains(where: { descendant[n.inputs[$0]] && !passesNoGradient(n.op, input: $0) }) {
                descendant[id] = true
            }
        }
        func relevant(_ id: NodeID) -> Bool { ancestor[id] && descendant[id] }

        var contributions: [NodeID: [Tensor]] = [:]
        for (l, c) in seeds where relevant(l.id) { contributions[l.id, default: []].append(c) }
        var totals: [NodeID: Tensor] = [:]
        func total(_ id: NodeID) -> Tensor? {
            if let t = totals[id] { return t }
            guard let parts = contributions[id], var sum = parts.first else { return nil }
            let loc = nodes[id].location
            graph.withLocation(loc) {
                for p in parts.dropFirst() { sum = graph.addNode(.binary(.add), inputs: [sum, p], location: loc) }
            }
            totals[id] = sum
            return sum
        }

        for id in stride(from: maxID, through: Swift.max(minWrt, floor), by: -1) where relevant(id) {
            let node = nodes[id]
            let needs = node.inputs.map { relevant($0) }
            guard needs.contains(true), let g = total(id) else { continue }
            let inputs = node.inputs.map { graph.tensor($0) }
            let ctx = GradientContext(graph: graph, node: node, y: graph.tensor(id), inputs: inputs, g: g, needs: needs)
            let results = try graph.withLocation(node.location) { try rule(ctx) }
            for (i, input) in node.inputs.enumerated() where needs[i] {
                switch i < results.count ? results[i] : .zero {
                case .zero: continue
                case .nonDifferentiable(let reason):
                    throw ctx.error("not differentiable with respect to input \(i) ('\(nodes[input].name)'): \(reason); "
                                    + "the loss depends on a gradient target through it (wrap that input in stopGradient() if this is intended)")
                case .gradient(var t):
                    let inNode = nodes[input]
                    guard inNode.dtype.isFloatingPoint else {
                        // Name the node where the value stopped being floating point (argmax, a cast, a comparison).
                        var culprit = inNode
                        while let next = culprit.inputs.first(where: { relevant($0) && !nodes[$0].dtype.isFloatingPoint }) {
                            culprit = nodes[next]
                        }
                        throw GraphError.node(Diagnostic(
                            nodeName: culprit.name, op: culprit.op.name,
                            inputs: culprit.inputs.map { "\(nodes[$0].name): \(nodes[$0].dtype.shortName)\(nodes[$0].shape)" },
                            message: "not differentiable: its \(culprit.dtype) result carries no gradient, but the loss depends on "
                                + "a gradient target through it (via '\(node.name)'); wrap it in stopGradient() if this is intended",
                            location: culprit.location))
                    }
                    if t.dtype != inNode.dtype {
                        t = graph.withLocation(node.location) { graph.addNode(.cast(inNode.dtype), inputs: [t], location: node.location) }
                    }
                    contributions[input, default: []].append(t)
                }
            }
        }
        return Result(gradients: wrt.map { total($0) }, ancestor: ancestor)
    }

    /// Whether input `i` of `op` never receives a gradient by definition (stopGradient, a
    /// `where` condition, the shape-only input of a helper op): no gradient flows along that edge.
    static func passesNoGradient(_ op: Op, input i: Int) -> Bool {
        switch op {
        case .stopGradient: return true
        case .select: return i == 0
        case .broadcastLike, .sumLike, .reshapeLike, .sliceBackward: return i == 1
        case .gatherBackward, .conv2dBackwardInput, .conv2dBackwardFilter: return i == 2
        case .maxPool2dBackward: return i == 0
        case .avgPool2dBackward: return i == 1
        default: return false
        }
    }

    /// Whether an input of static shape `s` may have been broadcast to `out` against `others`.
    /// False only when the static shapes prove it was not (so `sumLike` can be skipped).
    static func mayBroadcast(_ s: Shape, others: [Shape], out: Shape) -> Bool {
        guard s.rank == out.rank else { return true }
        for axis in 0..<out.rank {
            if let d = s.dims[axis] {
                if d != out.dims[axis] { return true }
                continue
            }
            for o in others {
                let offset = out.rank - o.rank
                if axis >= offset, o.dims[axis - offset] != 1 { return true }
            }
        }
        return false
    }

    /// The gradient rule of a node's op: one family per file.
    static func rule(_ c: GradientContext) throws -> [InputGradient] {
        switch c.node.op {
        case .placeholder, .variable, .constant:
            return []
        case .unary(let f): return try unaryRule(f, c)
        case .binary(let f): return try binaryRule(f, c)
        case .select: return selectRule(c)
        case .cast: return castRule(c)
        case .identity: return c.each { _ in .gradient(c.g) }
        case .stopGradient: return c.each { _ in .zero }
        case .matmul(let ta, let tb): return matmulRule(c, ta, tb)
        case .linear: return try expandedRule(c)
        case .reduce(let f, let axes, let keep): return reduceRule(f, axes, keep, c)
        case .argReduce(let f, _, _): return c.each { _ in .nonDifferentiable("\(f.rawValue) gives integer indices") }
        case .reshape, .squeeze, .expandDims: return c.each { _ in .gradient(c.make(.reshapeLike, [c.g, c.x(0)])) }
        case .transpose(let p): return transposeRule(p, c)
        case .broadcastTo: return c.each { _ in .gradient(c.make(.sumLike, [c.g, c.x(0)])) }
        case .concat(let axis): return try concatRule(axis, c)
        case .slice(let spec): return c.each { _ in .gradient(c.make(.sliceBackward(spec), [c.g, c.x(0)])) }
        case .gather(let axis): return gatherRule(axis, c)
        case .pad(let widths, _): return padRule(widths, c)
        case .tile(let m): return try tileRule(m, c)
        case .softmax(let axis): return softmaxRule(axis, c)
        case .logSoftmax(let axis): return logSoftmaxRule(axis, c)
        case .conv2d(let cfg): return conv2dRule(cfg, c)
        case .maxPool2d(let cfg): return c.each { _ in .gradient(c.make(.maxPool2dBackward(cfg), [c.x(0), c.g])) }
        case .avgPool2d(let cfg): return c.each { _ in .gradient(c.make(.avgPool2dBackward(cfg), [c.g, c.x(0)])) }
        case .oneHot: return c.each { _ in .nonDifferentiable("oneHot is not differentiable with respect to its indices") }
        case .softmaxCrossEntropy: return try softmaxCrossEntropyRule(c)
        case .random: return c.each { _ in .nonDifferentiable("random numbers are not differentiable") }
        case .assign, .assignMatMul: return c.each { _ in .nonDifferentiable("assignments are not differentiable") }
        case .group: return c.each { _ in .nonDifferentiable("group is not differentiable") }
        case .broadcastLike: return c.each { $0 == 0 ? .gradient(c.make(.sumLike, [c.g, c.x(0)])) : .zero }
        case .sumLike: return c.each { $0 == 0 ? .gradient(c.make(.broadcastLike, [c.g, c.x(0)])) : .zero }
        case .reshapeLike: return c.each { $0 == 0 ? .gradient(c.make(.reshapeLike, [c.g, c.x(0)])) : .zero }
        case .sliceBackward(let spec): return c.each { $0 == 0 ? .gradient(c.make(.slice(spec), [c.g])) : .zero }
        case .gatherBackward(let axis): return gatherBackwardRule(axis, c)
        case .conv2dBackwardInput(let cfg): return conv2dBackwardInputRule(cfg, c)
        case .conv2dBackwardFilter(let cfg): return conv2dBackwardFilterRule(cfg, c)
        case .maxPool2dBackward(let cfg): return try maxPool2dBackwardRule(cfg, c)
        case .avgPool2dBackward(let cfg): return c.each { $0 == 0 ? .gradient(c.make(.avgPool2d(cfg), [c.g])) : .zero }
        case .fused, .fusedReduce: return try expandedRule(c)
        }
    }
}
