import Graph

// Control flow. SymGraph graphs are static, so ONNX's Loop and If are resolved while importing:
// a Loop whose trip count and condition are known at import time is unrolled (its body inlined
// once per iteration); an If whose condition is known inlines the branch taken, and an If
// decided at run time computes both branches and selects (allowed when they agree in dtype and
// shape, since ONNX ops have no side effects).

extension ImportContext {
    /// Converts a subgraph (a Loop body, an If branch) with its inputs bound to `inputs` and
    /// returns its outputs with their import-time values. The names it defines are local: they
    /// are removed afterwards, and outer values of the same names restored.
    func inline(_ body: Onnx_GraphProto, inputs: [(Tensor, HostTensor?)], owner: NodeContext, what: String) throws -> [(Tensor, HostTensor?)] {
        guard body.input.count == inputs.count else {
            throw owner.fail("\(what) takes \(body.input.count) inputs, but \(inputs.count) are given")
        }
        guard body.sparseInitializer.isEmpty else { throw owner.fail("\(what): sparse initializers are not supported") }
        // Each inlining counts its nodes and the constants made for it (so an empty body with a
        // huge trip count also stops at the limit).
        inlinedNodes += body.node.count + inputs.count + 1
        guard inlinedNodes <= options.limits.maxNodes else {
            throw owner.fail("\(what): inlining would exceed the limit of \(options.limits.maxNodes) nodes")
        }
        let local = Set(body.input.map(\.name) + body.initializer.map(\.name) + body.node.flatMap(\.output)).subtracting([""])
        var saved: [String: (Tensor?, HostTensor?, Int32?)] = [:]
        for name in local {
            saved[name] = (values[name], statics[name], elemTypes[name])
            values[name] = nil; statics[name] = nil; elemTypes[name] = nil
        }
        defer {
            for (name, s) in saved { values[name] = s.0; statics[name] = s.1; elemTypes[name] = s.2 }
        }
        for (vi, (t, v)) in zip(body.input, inputs) {
            values[vi.name] = t
            statics[vi.name] = v
            if case .tensorType(let tt)? = vi.type.value, tt.elemType != 0 { elemTypes[vi.name] = tt.elemType }
        }
        for t in body.initializer {
            let v = try ONNXTensor.hostTensor(t, limits: options.limits, folder: options.modelFolder)
            try account(v, what: "\(what) initializer '\(t.name)'")
            let c = g.constant(v, name: t.name, file: "onnx:initializer", line: 0)
            values[t.name] = c
            statics[t.name] = v
            irStatics[c.id] = v
            elemTypes[t.name] = t.dataType
        }
        for (index, node) in try topologicalOrder(body.node) { try convert(node, index: index) }
        return try body.output.map { vi in
            guard let t = values[vi.name] else { throw owner.fail("\(what) output '\(vi.name)' is not produced by any node") }
            return (t, statics[vi.name])
        }
    }
}

extension NodeContext {
    /// The most iterations a Loop is unrolled to.
    static let maxUnrolledIterations = 1 << 16

    /// A subgraph attribute.
    func graphAttr(_ name: String) throws -> Onnx_GraphProto {
        guard let a = try attr(name), a.hasG else { throw fail("needs the graph attribute '\(name)'") }
        return a.g
    }

    /// The single boolean of an import-time value.
    func bool(_ v: HostTensor, _ what: String) throws -> Bool {
        guard v.count == 1, let x = v.doubles.first else { throw fail("\(what) must have one element, got shape \(v.shape)") }
        return x != 0
    }

    /// Loop, unrolled: the trip count `M` and the condition must be known at import time
    /// (constants, or computed from constants and the values `symgraph run` knows), and so must
    /// the condition each iteration of the body computes (unless the loop has no condition input).
    func loopOp() throws -> [Tensor?] {
        let body = try graphAttr("body")
        guard node.input.count >= 2 else { throw fail("needs the inputs M and cond (either may be empty)") }
        let carriedCount = node.input.count - 2
        let scanCount = body.output.count - 1 - carriedCount
        guard scanCount >= 0 else {
            throw fail("the body gives \(body.output.count) outputs, fewer than 1 + \(carriedCount) loop-carried values")
        }
        let why = "(SymGraph unrolls loops, so the number of iterations must be known when the model is imported)"
        var trips: Int?
        if has(0) {
            guard let v = staticIfKnown(0) else { throw fail("the trip count M must be known at import time \(why)") }
            guard v.count == 1, let m = intValues(v).first else { throw fail("the trip count M must have one element") }
            trips = Swift.max(m, 0)
        }
        let hasCondition = has(1)
        var cond = true
        if hasCondition {
            guard let v = staticIfKnown(1) else { throw fail("the loop condition must be known at import time \(why)") }
            cond = try bool(v, "the loop condition")
        }
        guard trips != nil || hasCondition else { throw fail("a Loop with neither a trip count nor a condition never ends") }
        var carried: [(Tensor, HostTensor?)] = try (2..<node.input.count).map { (try input($0), staticIfKnown($0)) }
        var scans = [[Tensor]](repeating: [], count: scanCount)
        func iteration(_ i: Int) throws -> [(Tensor, HostTensor?)] {
            let iv = HostTensor(scalar: Int64(i)), cv = HostTensor(scalar: cond)
            return try ctx.inline(body, inputs: [(g.constant(iv), iv), (g.constant(cv), cv)] + carried, owner: self, what: "Loop body")
        }
        var i = 0
        while cond, trips.map({ i < $0 }) ?? true {
            guard i < Self.maxUnrolledIterations else {
                throw fail("the loop runs more than \(Self.maxUnrolledIterations) iterations, too many to unroll")
            }
            let outs = try iteration(i)
            if hasCondition {
                guard let v = outs[0].1 else { throw fail("the condition the body computes must be known at import time \(why)") }
                cond = try bool(v, "the body's condition")
            }
            carried = Array(outs[1..<(1 + carriedCount)])
            for k in 0..<scanCount { scans[k].append(outs[1 + carriedCount + k].0) }
            i += 1
        }
        var results: [Tensor?] = carried.map(\.0)
        for k in 0..<scanCount {
            if scans[k].isEmpty {
                // No iteration ran: an empty stack of what one iteration would give (dead nodes, pruned).
                let one = try iteration(0)[1 + carriedCount + k].0.expandingDims(axis: 0)
                results.append(sliceAxis(one, axis: 0, begin: 0, end: 0))
            } else {
                let stacked = scans[k].map { $0.expandingDims(axis: 0) }
                results.append(stacked.count == 1 ? stacked[0] : concat(stacked, axis: 0))
            }
        }
        return results
    }

    /// If: the branch taken when the condition is known at import time; otherwise both branches
    /// and a select, which needs their outputs to agree in dtype and (known) shape.
    func ifOp() throws -> [Tensor?] {
        let thenBranch = try graphAttr("then_branch"), elseBranch = try graphAttr("else_branch")
        let c = try input(0)
        guard c.dtype == .bool, c.shape.elementCount.map({ $0 == 1 }) ?? false else {
            throw fail("the condition must be one bool, got \(c.dtype)\(c.shape)")
        }
        if let v = staticIfKnown(0) {
            let taken = try bool(v, "the condition") ? thenBranch : elseBranch
            return try ctx.inline(taken, inputs: [], owner: self, what: "If branch").map(\.0)
        }
        let a = try ctx.inline(thenBranch, inputs: [], owner: self, what: "If then_branch").map(\.0)
        let b = try ctx.inline(elseBranch, inputs: [], owner: self, what: "If else_branch").map(\.0)
        guard a.count == b.count else { throw fail("the branches give \(a.count) and \(b.count) outputs") }
        let cond = c.rank == 0 ? c : c.reshaped([])
        return try zip(a, b).enumerated().map { k, p in
            guard p.0.dtype == p.1.dtype, let s0 = p.0.shape.known, let s1 = p.1.shape.known, s0 == s1 else {
                throw fail("output \(k): the branches give \(p.0.dtype)\(p.0.shape) and \(p.1.dtype)\(p.1.shape); an If decided at run time needs equal known shapes (SymGraph graphs are static)")
            }
            return `where`(cond, p.0, p.1)
        }
    }
}
