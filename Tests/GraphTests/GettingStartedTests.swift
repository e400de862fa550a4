import XCTest
@testable import Graph

/// The code of docs/getting-started.md (sections 1–5), kept compiling and checked.
final class GettingStartedTests: XCTestCase {
    func testGettingStartedExample() throws {
        let g = Graph()
        let x      = g.placeholder("x", shape: [nil, 784])
        let labels = g.placeholder("labels", shape: [nil], dtype: .int32)
        let w1 = g.variable("w1", initializer: .glorotUniform, shape: [784, 512], seed: 1)
        let b1 = g.variable("b1", initializer: .zeros, shape: [512])
        let w2 = g.variable("w2", initializer: .heNormal, shape: [512, 10], seed: 2)
        let b2 = g.variable("b2", value: HostTensor([Float](repeating: 0, count: 10)))
        let half  = g.constant(0.5)
        let table = g.constant([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        assertType(half, .float32, [])
        assertType(table, .float32, [2, 3])

        let h = relu(x.matmul(w1) + b1)
        let logits = h.matmul(w2) + b2
        let scaled = 2 * logits - 1
        let probs  = softmax(logits)
        let loss   = softmaxCrossEntropy(logits: logits, labels: labels).mean()
        let right  = logits.argmax(axis: 1) .== labels.cast(to: .int64)
        let acc    = `where`(right, g.constant(1.0), g.constant(0.0)).mean()
        assertType(h, .float32, [nil, 512])
        assertType(scaled, .float32, [nil, 10])
        assertType(probs, .float32, [nil, 10])
        assertType(loss, .float32, [])
        assertType(right, .bool, [nil])
        assertType(acc, .float32, [])

        let out = g.withScope("layer2") { relu(h.matmul(w2) + b2) }
        XCTAssertEqual(out.name, "layer2/relu")
        XCTAssertNotNil(g.node(named: "layer2/matmul"))
        try g.validate()

        let line = #line + 1
        let bad = x.matmul(g.placeholder("w", shape: [100, 10]))
        let worse = bad.sum(axis: 5)
        XCTAssertTrue(worse.node.isInvalid)
        XCTAssertEqual(bad.name, "matmul_2")
        let ds = assertInvalid(g, node: "matmul_2", message: "inner dimensions differ: [?, 784] × [100, 10] (784 vs 100)",
                               location: here(line))
        XCTAssertEqual(ds.count, 1)
        XCTAssertTrue("\(GraphError.invalidGraph(ds))".contains(
            "error: node 'matmul_2' (matmul) with inputs (x: f32[?, 784], w: f32[100, 10]): inner dimensions differ"))
        XCTAssertEqual(g.dump().split(separator: "\n").count, g.nodeCount)
    }
}
