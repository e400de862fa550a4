import XCTest
@testable import Optimizer

/// Debug mode: O2 against O0 on the same feeds, naming the first node that differs.
final class PlanComparisonTests: XCTestCase {
    func build() -> (Graph, Tensor, [String: HostTensor]) {
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 3])
        let w = g.variable("w", initializer: .glorotUniform, shape: [3, 4], seed: 7)
        let b = g.variable("b", initializer: .constant(0.5), shape: [4])
        let h = relu(x.matmul(w) + b, file: "Model.swift", line: 12)
        let y = (h * 2.0 + 1.0).sum(axis: 1, file: "Model.swift", line: 13)
        return (g, y, ["x": floats([1, -2, 0.5, 3, 0.25, -1], [2, 3])])
    }

    func testAgreeingPlansGiveNil() throws {
        let (g, y, feeds) = build()
        let d = try PlanComparison.firstDivergence(g, fetches: [y.id], options: CompileOptions(evaluator: ReferenceEvaluator())) { p in
            try Ref.run(p, feeds: feeds).map { Optional($0.host) }
        }
        XCTAssertNil(d)
    }

    func testNamesTheFirstDivergingNode() throws {
        let (g, y, feeds) = build()
        // A deliberately wrong linear kernel: its node (the relu at Model.swift:12) must be named,
        // not the sum downstream of it.
        let d = try PlanComparison.firstDivergence(g, fetches: [y.id]) { p in
            var vals = try Ref.run(p, feeds: feeds)
            for (i, ins) in p.instructions.enumerated() {
                if case .linear = ins.op {
                    vals[i].data[0] += 0.5
                    for (j, later) in p.instructions.enumerated() where j > i {   // recompute downstream
                        if case .placeholder = later.op { continue }
                        vals[j] = try Ref.apply(later.op, later.inputs.map { vals[$0] }, type: TypeInfo(later.dtype, later.shape))
                    }
                }
            }
            return vals.map { Optional($0.host) }
        }
        let div = try XCTUnwrap(d)
        XCTAssertEqual(div.name, "relu")
        XCTAssertEqual(div.location, SourceLocation(file: "Model.swift", line: 12))
        XCTAssertEqual(div.maxDifference, 0.5, accuracy: 1e-6)
        XCTAssertTrue(div.description.contains("Model.swift:12: node 'relu' (relu)"), div.description)
    }
}
