import XCTest
@testable import Optimizer

final class ConstantFoldingTests: XCTestCase {
    func testFoldsConstantSubgraph() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3])
        let c = g.constant([1, 2, 3] as [Float], shape: [3])
        let k = exp(c) * 2 + 1                      // all-constant: folds to one constant
        let y = x * k
        let (p, r) = try compile([y])
        XCTAssertEqual(kinds(p)["exp"], nil)
        XCTAssertEqual(kinds(p)["const"], 1)
        XCTAssertEqual(kinds(p)["mul"], 1)
        XCTAssertGreaterThanOrEqual(r.fired("fold"), 3)
        try assertSameValues([y], feeds: ["x": floats([1, -2, 0.5], [3])])
    }

    func testNeverFoldsVariablesPlaceholdersOrRandom() throws {
        let g = Graph()
        let v = g.variable("v", initializer: .ones, shape: [2])
        let u = g.randomUniform(shape: [2], seed: 3)
        let y = exp(v) + exp(u) + g.constant(1)
        let (p, r) = try compile([y], level: .O1)
        XCTAssertEqual(r.fired("fold"), 0)
        XCTAssertEqual(kinds(p)["exp"], 2)
    }

    func testFoldSizeCap() throws {
        let g = Graph()
        let c = g.constant(HostTensor(filled: 1, dtype: .float32, shape: [64]))
        let y = exp(c)
        let opts = CompileOptions(level: .O1, verify: true, evaluator: ReferenceEvaluator(), foldLimit: 10)
        let (p, _) = try Compiler.compile(g, fetches: [y.id], options: opts)
        XCTAssertEqual(kinds(p)["exp"], 1, "a 64-element result is over the cap of 10")
        let (q, _) = try compile([y], level: .O1)
        XCTAssertEqual(kinds(q)["exp"], nil)
    }

    func testNoEvaluatorNoFolding() throws {
        let g = Graph()
        let y = exp(g.constant(1))
        let (p, _) = try Compiler.compile(g, fetches: [y.id], options: CompileOptions(level: .O2, verify: true))
        XCTAssertEqual(kinds(p)["exp"], 1)
    }
}

final class CSETests: XCTestCase {
    func testMergesEqualInstructionsAndConstants() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [4])
        let a = exp(x) * 3
        let b = exp(x) * 3
        let y = a + b
        let (p, r) = try compile([y], level: .O1)
        XCTAssertEqual(kinds(p)["exp"], 1)
        XCTAssertEqual(kinds(p)["mul"], 1)
        XCTAssertEqual(kinds(p)["const"], 1)
        XCTAssertGreaterThanOrEqual(r.pass("cse")?.rulesFired["merged"] ?? 0, 3)
        try assertSameValues([y], feeds: ["x": floats([1, 2, 3, 4], [4])], level: .O1)
    }

    func testNeverMergesRandomOrPlaceholders() throws {
        let g = Graph()
        let x1 = g.placeholder("x1", shape: [2]), x2 = g.placeholder("x2", shape: [2])
        let r1 = g.randomUniform(shape: [2], seed: 1), r2 = g.randomUniform(shape: [2], seed: 1)
        let y = x1 + x2 + r1 + r2
        let (p, _) = try compile([y], level: .O1)
        XCTAssertEqual(kinds(p)["placeholder"], 2)
        XCTAssertEqual(kinds(p)["randomUniform"], 2)
    }

    func testDoesNotMergeVariableReadsAcrossAssign() throws {
        let g = Graph()
        let v = g.variable("v", initializer: .ones, shape: [2])
        let before = v * 2
        let upd = v.assign(g.constant([5, 5] as [Float], shape: [2]))
        let after = g.withControlDependencies([upd]) { v * 2 }
        let (p, _) = try compile([before, after, upd], level: .O1)
        XCTAssertEqual(kinds(p)["mul"], 2)
    }
}

final class VariableOrderTests: XCTestCase {
    /// `transpose(transpose(v))` read after `v` is assigned must still see the old value.
    func testRewritesDoNotMoveVariableReadsAcrossAssignments() throws {
        let g = Graph()
        let v = g.variable("v", initializer: .ones, shape: [2, 2])
        let t = v.T
        let upd = v.assign(g.constant([5, 5, 5, 5] as [Float], shape: [2, 2]))
        let y = t.T * 1.0
        let (p, r) = try compile([y, upd], level: .O1)
        XCTAssertEqual(r.fired("transpose-transpose"), 0, p.dump())
        XCTAssertEqual(kinds(p)["transpose"], 2)
        // Without the assignment the rewrite is made.
        let (q, _) = try compile([y], level: .O1)
        XCTAssertEqual(kinds(q)["transpose"], nil)
    }
}

final class DeadCodeTests: XCTestCase {
    func testRemovesValuesMadeDeadByRewrites() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3])
        let y = neg(neg(x)) * 1
        let (p, r) = try compile([y], level: .O1)
        XCTAssertEqual(p.count, 1)   // only the placeholder is left
        XCTAssertEqual(p.outputs, [0])
        XCTAssertEqual(r.instructionCount, 1)
    }

    func testKeepsFetchedSideEffects() throws {
        let g = Graph()
        let v = g.variable("v", initializer: .zeros, shape: [2])
        let a = v.assignAdd(g.constant([1, 1] as [Float], shape: [2]))
        let step = g.group([a])
        let (p, _) = try compile([step])
        XCTAssertEqual(kinds(p)["assignAdd"], 1)
        XCTAssertEqual(kinds(p)["group"], 1)
    }
}
