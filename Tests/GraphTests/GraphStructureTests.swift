import XCTest
import Dispatch
@testable import Graph

/// Unique names, name scopes, roles, and the append-only graph.
final class GraphStructureTests: XCTestCase {
    func testUniqueNames() {
        let g = Graph()
        let a = g.placeholder("x", shape: [2])
        let b = g.placeholder("x", shape: [2])
        let c = g.placeholder("x", shape: [2])
        XCTAssertEqual([a.name, b.name, c.name], ["x", "x_1", "x_2"])
        let s1 = a + b, s2 = a + b
        XCTAssertEqual([s1.name, s2.name], ["add", "add_1"])
        _ = g.placeholder("add_2", shape: [2])      // a user name that looks generated
        let s3 = a + b
        XCTAssertEqual(s3.name, "add_3")
        XCTAssertEqual(Set(g.nodes.map(\.name)).count, g.nodeCount)
        XCTAssertEqual(g.node(named: "x_1")?.id, b.id)
        XCTAssertNil(g.node(named: "nope"))
        XCTAssertEqual(a.matmul(a.reshaped([2, 1]).T).name, "matmul")
        XCTAssertEqual(a.sum().name, "sum")
        XCTAssertEqual(leakyRelu(a).name, "leakyRelu")
    }

    func testNameScopes() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 4])
        let (h1, h2) = g.withScope("layer1") { () -> (Tensor, Tensor) in
            let w = g.variable("w", initializer: .zeros, shape: [4, 4])
            let inner = g.withScope("block") { relu(x.matmul(w)) }
            return (inner, x.matmul(w))
        }
        let h3 = g.withScope("layer1") { x.identity(name: "out") }
        XCTAssertNotNil(g.node(named: "layer1/w"))
        XCTAssertEqual(h1.name, "layer1/block/relu")
        XCTAssertEqual(h1.node.scope, "layer1/block")
        XCTAssertEqual(g.node(h1.node.inputs[0]).name, "layer1/block/matmul")
        XCTAssertEqual(h2.name, "layer1/matmul")
        XCTAssertEqual(h3.name, "layer1/out")
        XCTAssertEqual(x.node.scope, "")
        // The same scope entered twice gives unique names too.
        let r1 = g.withScope("rep") { g.placeholder("p", shape: [1]) }
        let r2 = g.withScope("rep") { g.placeholder("p", shape: [1]) }
        XCTAssertEqual([r1.name, r2.name], ["rep/p", "rep/p_1"])
        XCTAssertEqual(r2.node.scope, "rep")
        XCTAssertEqual((x + x).name, "add")    // scope popped
        // Scopes pop when the body throws.
        struct Boom: Error {}
        XCTAssertThrowsError(try g.withScope("s") { throw Boom() })
        XCTAssertEqual(x.identity().node.scope, "")
    }

    func testRolesAndTensorHandles() {
        let g = Graph()
        let x = g.placeholder("x", shape: [2])
        let gr = g.withRole(.gradient) { x * 2 }
        XCTAssertEqual(gr.node.role, .gradient)
        XCTAssertEqual(g.node(gr.node.inputs[1]).role, .gradient)
        XCTAssertEqual((x + 1).node.role, .forward)
        XCTAssertEqual(g.tensor(x.id), x)
        XCTAssertEqual(Set([x, g.tensor(x.id)]).count, 1)
        XCTAssertNotEqual(Graph().placeholder("x", shape: [2]), x)   // same id, other graph
        XCTAssertEqual(x.description, "Tensor(x: placeholder f32[2])")
        XCTAssertEqual(x.rank, 1)
    }

    /// Graphs are append-only: nodes added later (after a session compiled a snapshot) never
    /// change the ids, names, ops or types of earlier nodes.
    func testAppendOnlyKeepsIdsStable() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 3])
        let w = g.variable("w", initializer: .ones, shape: [3, 2])
        let y = relu(x.matmul(w)).sum()
        let snapshot = g.nodes
        let count = g.nodeCount
        // Add more nodes, including invalid ones and ones reusing names.
        let z = (y * 2).identity(name: "relu")
        _ = x.reshaped([7, 7])
        _ = g.variable("w", initializer: .zeros, shape: [1])
        XCTAssertGreaterThan(g.nodeCount, count)
        for old in snapshot {
            let now = g.node(old.id)
            XCTAssertEqual(now.id, old.id)
            XCTAssertEqual(now.name, old.name)
            XCTAssertEqual(now.op, old.op)
            XCTAssertEqual(now.inputs, old.inputs)
            XCTAssertEqual(now.shape, old.shape)
            XCTAssertEqual(now.dtype, old.dtype)
            XCTAssertEqual(now.isInvalid, old.isInvalid)
        }
        XCTAssertEqual(z.name, "relu_1")   // the name "relu" was taken by an earlier node
        XCTAssertEqual(g.nodes.map(\.id), Array(0..<g.nodeCount))
        // Inputs always point backwards: creation order is a topological order.
        for n in g.nodes { XCTAssertTrue(n.inputs.allSatisfy { $0 < n.id }) }
        XCTAssertEqual(g.node(named: "w")?.id, w.id)
    }

    /// The graph is guarded by a lock: concurrent builders get distinct ids and names.
    func testConcurrentBuilding() {
        let g = Graph()
        let x = g.placeholder("x", shape: [4])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<100 { _ = x.add(x) }
        }
        XCTAssertEqual(g.nodeCount, 801)
        XCTAssertEqual(Set(g.nodes.map(\.name)).count, 801)
        XCTAssertEqual(g.nodes.map(\.id), Array(0..<801))
        assertValid(g)
    }
}
