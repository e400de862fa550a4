import XCTest
@testable import Optimizer
import NN

final class SpecializeTests: XCTestCase {
    func testTransposesFoldIntoMatmulFlags() throws {
        let g = Graph()
        let a = g.placeholder("a", shape: [3, 2]), b = g.placeholder("b", shape: [4, 3])
        let y = matmul(a.T, b.T)
        let (p, r) = try compile([y], disabled: ["fuse-elementwise"])
        XCTAssertEqual(r.fired("matmul-transpose"), 1)
        XCTAssertEqual(kinds(p)["transpose"], nil)
        XCTAssertTrue(p.instructions.contains { if case .matmul(true, true) = $0.op { return true } else { return false } })
        try assertSameValues([y], feeds: ["a": floats((0..<6).map { Float($0) - 2 }, [3, 2]),
                                          "b": floats((0..<12).map { Float($0) * 0.5 }, [4, 3])])
    }
}

final class LinearFusionTests: XCTestCase {
    let feeds = ["x": floats((0..<6).map { Float($0) * 0.3 - 0.7 }, [2, 3])]

    func testMatmulBiasRelu() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 3])
        let w = g.variable("w", initializer: .glorotUniform, shape: [3, 4], seed: 5)
        let b = g.variable("b", initializer: .constant(0.1), shape: [4])
        let y = relu(x.matmul(w) + b)
        let (p, r) = try compile([y])
        XCTAssertEqual(kinds(p)["linear"], 1)
        XCTAssertEqual(kinds(p)["matmul"], nil)
        XCTAssertEqual(kinds(p)["add"], nil)
        XCTAssertEqual(kinds(p)["relu"], nil)
        XCTAssertEqual(r.fired("linear+activation"), 1)
        XCTAssertTrue(p.instructions.contains { if case .linear(false, false, .relu) = $0.op { return true } else { return false } })
        try assertSameValues([y], feeds: feeds)
    }

    func testBiasFirstAndNoActivation() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 3])
        let w = g.variable("w", initializer: .glorotUniform, shape: [3, 4], seed: 5)
        let b = g.variable("b", initializer: .constant(0.1), shape: [4])
        let z = b + x.matmul(w)
        let y = z * z           // z has two uses: no activation to absorb
        let (p, r) = try compile([y])
        XCTAssertEqual(r.fired("linear"), 1)
        XCTAssertEqual(kinds(p)["linear"], 1)
        try assertSameValues([y], feeds: feeds)
    }

    func testMatmulWithAnotherUserIsNotFused() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 3])
        let w = g.variable("w", initializer: .glorotUniform, shape: [3, 4], seed: 5)
        let b = g.variable("b", initializer: .constant(0.1), shape: [4])
        let m = x.matmul(w)
        let y = relu(m + b) + m
        let (p, _) = try compile([y])
        XCTAssertEqual(kinds(p)["linear"], nil)
        XCTAssertEqual(kinds(p)["matmul"], 1)
        try assertSameValues([y], feeds: feeds)
    }
}

final class ElementwiseFusionTests: XCTestCase {
    func testW2ChainBecomesOneKernel() throws {
        let (_, inputs, out) = Workloads.elementwiseChain(count: 5)
        let (p, r) = try compile([out])
        XCTAssertEqual(p.kernelCount, 1, p.dump())
        XCTAssertEqual(kinds(p)["fused"], 1)
        XCTAssertEqual(p.count, 4)  // x, y, z, fused
        XCTAssertEqual(r.pass("fuse-elementwise")?.rulesFired["regions"], 1)
        let v: [[Float]] = [[-2, -0.5, 0, 0.7, 1.9], [1, 2, -1, 0.5, 0.25], [0, 0.1, -0.3, 2, -2]]
        var feeds: [String: HostTensor] = [:]
        for (t, vals) in zip(inputs, v) { feeds[t.name] = floats(vals, [5]) }
        try assertSameValues([out], feeds: feeds)
    }

    func testSharedProducerStaysOutsideTheRegion() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3])
        let e = exp(x)
        let y = (e + 1.0) * (e - 2.0)      // e has two users: it is not absorbed, but the rest fuses
        let (p, _) = try compile([y])
        XCTAssertEqual(kinds(p)["exp"], 1)
        XCTAssertEqual(kinds(p)["fused"], 1)
        try assertSameValues([y], feeds: ["x": floats([0.1, -1, 2], [3])])
    }

    func testBroadcastingInputs() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 3]), b = g.placeholder("b", shape: [3]), s = g.placeholder("s", shape: [2, 1])
        let y = tanh(x * s + b) - sigmoid(b)
        let (p, _) = try compile([y])
        XCTAssertEqual(p.kernelCount, 1, p.dump())
        try assertSameValues([y], feeds: ["x": floats([1, 2, 3, 4, 5, 6], [2, 3]), "b": floats([0.5, -1, 2], [3]),
                                          "s": floats([0.1, -0.2], [2, 1])])
    }

    func testInputCap() throws {
        let g = Graph()
        let xs = (0..<12).map { g.placeholder("x\($0)", shape: [2]) }
        var y = xs[0]
        for x in xs.dropFirst() { y = y * x + 0.5 }
        let (p, _) = try compile([y])
        for ins in p.instructions { if case .fused = ins.op { XCTAssertLessThanOrEqual(ins.inputs.count, 8) } }
        XCTAssertEqual(kinds(p)["fused"], 2, p.dump())
        var feeds: [String: HostTensor] = [:]
        for (k, x) in xs.enumerated() { feeds[x.name] = floats([Float(k) * 0.1, 1 - Float(k) * 0.05], [2]) }
        try assertSameValues([y], feeds: feeds)
    }

    func testVariableReadIsNotMovedAcrossItsAssignment() throws {
        let g = Graph()
        let v = g.variable("v", initializer: .ones, shape: [3])
        let early = v * 2.0                                   // reads v before the assignment
        let upd = v.assign(g.constant([5, 5, 5] as [Float], shape: [3]))
        let late = early + 1.0                                // after it: fusing would read the new v
        let (p, _) = try compile([late, upd])
        XCTAssertEqual(kinds(p)["mul"], 1, p.dump())
        XCTAssertEqual(kinds(p)["fused"], nil)
        // Without the assignment the two fuse.
        let (q, _) = try compile([late])
        XCTAssertEqual(kinds(q)["fused"], 1)
    }

    func testFetchedIntermediateIsNotAbsorbed() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3])
        let a = exp(x)
        let y = a * 2.0 + 1.0
        let (p, _) = try compile([y, a])
        XCTAssertEqual(kinds(p)["exp"], 1)
        try assertSameValues([y, a], feeds: ["x": floats([0.1, -1, 2], [3])])
    }
}

final class ReduceFusionTests: XCTestCase {
    func testSumOfProduct() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 3]), y = g.placeholder("y", shape: [2, 3])
        let s = (x * y).sum(axis: 1)
        let t = (exp(x) - y).max(axes: nil, keepDims: true)
        let (p, r) = try compile([s, t])
        XCTAssertEqual(kinds(p)["fusedReduce"], 2, p.dump())
        XCTAssertEqual(p.kernelCount, 2)
        XCTAssertEqual(r.fired("fusedReduce"), 2)
        try assertSameValues([s, t], feeds: ["x": floats([1, 2, 3, 4, 5, 6], [2, 3]), "y": floats([0.5, -1, 2, 0, 1, -3], [2, 3])])
    }
}

final class LevelTests: XCTestCase {
    func build() -> (Tensor, [String: HostTensor]) {
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 3])
        let w = g.variable("w", initializer: .glorotUniform, shape: [3, 3], seed: 5)
        let b = g.variable("b", initializer: .zeros, shape: [3])
        let y = log(softmax(relu(x.matmul(w) + b) * 1.0 + exp(g.constant(0.5))))
        return (y, ["x": floats([1, 2, 3, 4, 5, 6], [2, 3])])
    }

    func testO0ChangesNothing() throws {
        let (y, _) = build()
        let (p, r) = try compile([y], level: .O0)
        XCTAssertEqual(p.count, y.graph.nodeCount)
        XCTAssertEqual(r.passes.map(\.name), ["prune"])
    }

    func testO1CleansUpOnly() throws {
        let (y, feeds) = build()
        let (p, r) = try compile([y], level: .O1)
        XCTAssertEqual(kinds(p)["mul"], nil)
        XCTAssertEqual(kinds(p)["exp"], nil)       // folded
        XCTAssertEqual(kinds(p)["softmax"], 1)     // not stabilized
        XCTAssertEqual(kinds(p)["fused"], nil)
        XCTAssertFalse(r.passes.contains { $0.stage == "fuse" || $0.stage == "stabilize" })
        try assertSameValues([y], feeds: feeds, level: .O1)
    }

    func testO2AndDisabledPasses() throws {
        let (y, feeds) = build()
        let (p, _) = try compile([y])
        XCTAssertEqual(kinds(p)["logSoftmax"], 1)
        XCTAssertEqual(kinds(p)["linear"], 1)
        try assertSameValues([y], feeds: feeds, rtol: 1e-5)
        let (q, r) = try compile([y], disabled: ["fuse-linear", "log-softmax"])
        XCTAssertEqual(kinds(q)["linear"], nil)
        XCTAssertEqual(kinds(q)["softmax"], 1)
        XCTAssertNil(r.pass("fuse-linear"))
        try assertSameValues([y], feeds: feeds)
    }
}

final class CompileErrorTests: XCTestCase {
    func testBadFetchAndInvalidGraphThrow() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3])
        XCTAssertThrowsError(try Compiler.compile(g, fetches: [x.id + 5])) { e in
            XCTAssertTrue("\(e)".contains("fetch 5 is not a node of this graph"), "\(e)")
        }
        let bad = x.reshaped([2, 2], file: "Model.swift", line: 3)
        XCTAssertThrowsError(try Compiler.compile(g, fetches: [bad.id])) { e in
            XCTAssertTrue("\(e)".contains("Model.swift:3"), "\(e)")
        }
    }
}

final class VerifierTests: XCTestCase {
    func testRejectsWrongShapeAndOrder() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3])
        let y = exp(x)
        var p = Compiler.lower(g, fetches: [y.id])
        XCTAssertNoThrow(try Verifier.verify(p))
        p.instructions[1].shape = [4]
        XCTAssertThrowsError(try Verifier.verify(p, after: "test")) { e in
            XCTAssertTrue("\(e)".contains("after pass 'test'"), "\(e)")
            XCTAssertTrue("\(e)".contains("recorded as f32[4] but its operands give f32[3]"), "\(e)")
        }
        p.instructions[1].shape = [3]
        p.instructions[1].inputs = [1]
        XCTAssertThrowsError(try Verifier.verify(p)) { e in XCTAssertTrue("\(e)".contains("does not precede it"), "\(e)") }
        p.instructions[1].inputs = [0, 0]
        XCTAssertThrowsError(try Verifier.verify(p)) { e in XCTAssertTrue("\(e)".contains("takes 1"), "\(e)") }
    }
}
