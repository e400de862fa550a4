import Testing
@testable import Graph

/// Graph-only tests of `gradients(of:with:)`: structure, locations, policies and errors.
@Suite struct GradientStructureTests {
    @Test func gradientNodesCarryTheForwardLocationRoleAndScope() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 3], dtype: .float64)
        let w = g.variable("w", initializer: .ones, shape: [3, 2], dtype: .float64)
        let h = tanh(x.matmul(w, file: "Model.swift", line: 10), file: "Model.swift", line: 11)
        let loss = h.sum(file: "Model.swift", line: 12)
        let before = g.nodeCount
        let gw = try g.gradients(of: loss, with: [w])[0]
        #expect(gw.shape == Shape([3, 2]))
        #expect(gw.dtype == .float64)
        let added = g.nodes[before...]
        #expect(!added.isEmpty)
        for n in added {
            #expect(n.role == .gradient)
            #expect(n.name.hasPrefix("gradients/"), "\(n.name)")
            #expect(n.location.file == "Model.swift", "\(n.name) at \(n.location)")
        }
        // The matmul's gradient node is attributed to the matmul's line, tanh's to tanh's.
        let mm = added.filter { if case .matmul = $0.op { return true } else { return false } }
        #expect(!mm.isEmpty)
        #expect(mm.allSatisfy { $0.location.line == 10 })
        #expect(gw.node.location.line == 10)
        #expect(added.contains { $0.location.line == 11 })
        try g.validate()
    }

    @Test func disconnectedTargetThrowsNamingIt() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3], dtype: .float64)
        let unused = g.variable("unused", initializer: .zeros, shape: [2, 2], dtype: .float64, file: "Net.swift", line: 7)
        let loss = (x * x).sum()
        do {
            _ = try g.gradients(of: loss, with: [x, unused])
            Issue.record("expected an error")
        } catch let e as GraphError {
            let text = e.description
            #expect(text.contains("'unused'"), "\(text)")
            #expect(text.contains("Net.swift:7"), "\(text)")
            #expect(text.contains("does not depend"), "\(text)")
            #expect(text.contains("disconnected: .zeros"), "\(text)")
        }
    }

    @Test func disconnectedZerosPolicyGivesZerosShapedLikeTheTarget() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3], dtype: .float64)
        let unused = g.placeholder("unused", shape: [nil, 4], dtype: .float64)
        let loss = (x * x).sum()
        let grads = try g.gradients(of: loss, with: [x, unused], disconnected: .zeros)
        #expect(grads[1].shape == Shape([nil, 4]))
        #expect(grads[1].dtype == .float64)
        guard case .broadcastLike = grads[1].node.op else { Issue.record("zeros via broadcastLike"); return }
        #expect(grads[1].node.inputs[1] == unused.id)
        try g.validate()
    }

    @Test func stopGradientGivesZerosNotAnError() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3], dtype: .float64)
        let loss = x.stopGradient().sum()
        let gx = try g.gradients(of: loss, with: [x])[0]
        guard case .broadcastLike = gx.node.op else { Issue.record("expected zeros"); return }
    }

    @Test func nonDifferentiableOpThrowsNamingNodeAndLine() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3], dtype: .float64)
        let f = floor(x, file: "Layer.swift", line: 42)
        let loss = (f * x).sum()
        do {
            _ = try g.gradients(of: loss, with: [x])
            Issue.record("expected an error")
        } catch let e as GraphError {
            let text = e.description
            #expect(text.contains("Layer.swift:42"), "\(text)")
            #expect(text.contains("'\(f.name)'"), "\(text)")
            #expect(text.contains("(floor)"), "\(text)")
            #expect(text.contains("not differentiable"), "\(text)")
        }
    }

    @Test func integerPathNamesTheNodeThatMadeTheInteger() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 3], dtype: .float64)
        let idx = x.argmax(axis: 1, file: "Pick.swift", line: 5)
        let loss = idx.cast(to: .float64).sum() + x.sum()
        do {
            _ = try g.gradients(of: loss, with: [x])
            Issue.record("expected an error")
        } catch let e as GraphError {
            let text = e.description
            #expect(text.contains("Pick.swift:5"), "\(text)")
            #expect(text.contains("argmax"), "\(text)")
        }
        // Through gather's indices.
        let p = g.placeholder("p", shape: [3, 4], dtype: .float64)
        let picked = p.gather(x.argmax(axis: 1), axis: 0, file: "Pick.swift", line: 9).sum()
        #expect(throws: GraphError.self) { _ = try g.gradients(of: picked, with: [x]) }
        // ... unless stopped on purpose; then the parameters still get their gradient.
        let gp = try g.gradients(of: p.gather(x.argmax(axis: 1).stopGradient(), axis: 0).sum(), with: [p, x])
        #expect(gp[0].shape == Shape([3, 4]))
    }

    @Test func otherNonDifferentiableOpsThrow() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [4], dtype: .float32)
        // A cast to an integer: the error names the cast.
        let viaInt = (x.cast(to: .int32, file: "Q.swift", line: 3) * g.constant(2, dtype: .int32)).cast(to: .float32).sum()
        #expect { _ = try g.gradients(of: viaInt, with: [x]) } throws: { e in
            "\(e)".contains("Q.swift:3") && "\(e)".contains("cast(i32)")
        }
        // oneHot with respect to its indices.
        let hot = oneHot(x.cast(to: .int64), depth: 3, file: "Q.swift", line: 8).sum()
        #expect(throws: GraphError.self) { _ = try g.gradients(of: hot, with: [x]) }
        // Random numbers shaped like x.
        let r = g.addNode(.random(.uniform(low: 0, high: 1), seed: 1, shape: [4]), inputs: [x],
                          location: SourceLocation(file: "Q.swift", line: 11))
        #expect { _ = try g.gradients(of: (r * 2).sum(), with: [x]) } throws: { e in "\(e)".contains("Q.swift:11") }
        // An assignment.
        let v = g.variable("v", initializer: .zeros, shape: [4])
        let a = v.assign(x * 2, file: "Q.swift", line: 15)
        #expect { _ = try g.gradients(of: a.sum(), with: [x]) } throws: { e in
            "\(e)".contains("Q.swift:15") && "\(e)".contains("assign")
        }
        // sign/round through a fused-free chain.
        #expect(throws: GraphError.self) { _ = try g.gradients(of: round(x).sum(), with: [x]) }
        #expect(throws: GraphError.self) { _ = try g.gradients(of: sign(x).sum(), with: [x]) }
    }

    @Test func comparisonsInWhereConditionsAreFine() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [4], dtype: .float64)
        let loss = `where`(x .> 0, x * x, x * 0.5).sum()
        let gx = try g.gradients(of: loss, with: [x])[0]
        #expect(gx.shape == Shape([4]))
        try g.validate()
    }

    @Test func integerTargetsAndNonScalarLossesThrow() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3], dtype: .float64)
        let labels = g.placeholder("labels", shape: [3], dtype: .int32)
        #expect(throws: GraphError.self) { _ = try g.gradients(of: x.sum(), with: [labels]) }
        do {
            _ = try g.gradients(of: x * 2, with: [x])
            Issue.record("expected an error")
        } catch let e as GraphError {
            #expect(e.description.contains("cotangent"), "\(e)")
        }
        // With a cotangent it is a vector-Jacobian product.
        let v = g.placeholder("v", shape: [3], dtype: .float64)
        let vjp = try g.gradients(of: x * 2, with: [x], cotangent: v)[0]
        #expect(vjp.shape == Shape([3]))
    }

    @Test func twoLossesAreSummed() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3], dtype: .float64)
        let l1 = (x * x).sum(), l2 = sin(x).sum()
        let gx = try g.gradients(of: [l1, l2], with: [x])[0]
        guard case .binary(.add) = gx.node.op else { Issue.record("expected a sum of contributions, got \(gx)"); return }
    }

    @Test func broadcastInputsAreSummedBackWithSumLike() throws {
        let g = Graph()
        let a = g.placeholder("a", shape: [nil, 3], dtype: .float64)
        let b = g.placeholder("b", shape: [3], dtype: .float64)
        let grads = try g.gradients(of: (a * b).sum(), with: [a, b])
        #expect(grads[0].shape == Shape([nil, 3]))
        #expect(grads[1].shape == Shape([3]))
        // a is provably not broadcast: no sumLike; b is.
        if case .sumLike = grads[0].node.op { Issue.record("unneeded sumLike for a") }
        guard case .sumLike = grads[1].node.op else { Issue.record("expected sumLike for b"); return }
    }

    @Test func everyRuleBuildsAValidGraphWithUnknownBatch() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 2, 6, 6], dtype: .float64)
        let w = g.variable("w", initializer: .glorotUniform, shape: [3, 2, 3, 3], dtype: .float64)
        let labels = g.placeholder("labels", shape: [nil], dtype: .int32)
        var h = conv2d(x, filter: w, padding: .same)
        h = maxPool2d(relu(h), kernel: (2, 2))
        h = avgPool2d(h, kernel: (3, 3), strides: (1, 1), padding: .same)
        h = batchNorm(h, gamma: g.variable("gamma", initializer: .ones, shape: [3], dtype: .float64),
                      beta: g.variable("beta", initializer: .zeros, shape: [3], dtype: .float64), training: true)
        let flat = h.reshaped([-1, 27])
        let v = g.variable("v", initializer: .glorotUniform, shape: [27, 5], dtype: .float64)
        let logits = concat(flat.matmul(v).split(sizes: [2, 3], axis: 1), axis: 1).padded([(0, 0), (1, 0)]).tiled([1, 1])
        let z = logits.softmax().logsumexp(axis: 1) + logits.logSoftmax().max(axis: 1) + logits.prod(axes: [1])
            + logits.min(axes: [1]) + logits.mean(axis: 1)
        let loss = softmaxCrossEntropy(logits: logits, labels: labels).mean() + z.mean()
        let grads = try g.gradients(of: loss, with: [x, w, v])
        #expect(grads.map(\.shape) == [x.shape, w.shape, v.shape])
        try g.validate()
        // Second order through the whole thing.
        let hv = try g.hessianVectorProduct(of: loss, with: v, vector: g.constant(HostTensor(filled: 1, dtype: .float64, shape: [27, 5])))
        #expect(hv.shape == v.shape)
        try g.validate()
    }

    @Test func fusedOpsAreDifferentiatedByExpansion() throws {
        let g = Graph()
        let a = g.placeholder("a", shape: [4, 3], dtype: .float64)
        let b = g.placeholder("b", shape: [3], dtype: .float64)
        let p = FusedProgram(steps: [.input(0), .input(1), .binary(.mul, 0, 1), .unary(.tanh, 2)],
                             dtypes: [.float64, .float64, .float64, .float64])
        let f = g.addNode(.fused(p), inputs: [a, b], location: .unknown)
        let grads = try g.gradients(of: f.sum(), with: [a, b])
        #expect(grads.map(\.shape) == [a.shape, b.shape])
        let r = g.addNode(.fusedReduce(.sum, axes: [1], keepDims: false, p), inputs: [a, b], location: .unknown)
        let w = g.placeholder("w", shape: [3, 2], dtype: .float64)
        let lin = g.addNode(.linear(transposeA: false, transposeB: false, activation: .relu), inputs: [a, w, b.slice(begin: [0], end: [2])], location: .unknown)
        let grads2 = try g.gradients(of: [r.sum(), lin.sum()], with: [a, b, w])
        #expect(grads2.map(\.shape) == [a.shape, b.shape, w.shape])
        try g.validate()
    }
}
