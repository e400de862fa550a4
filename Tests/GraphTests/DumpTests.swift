import XCTest
@testable import Graph

/// The text dump: one line per node with id, name, op, dtype, shape, inputs and location.
final class DumpTests: XCTestCase {
    func testOneLinePerNodeWithAllFields() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 784])
        let w = g.variable("w", initializer: .glorotUniform, shape: [784, 512], seed: 1)
        let line = #line + 1
        let h = g.withScope("layer1") { relu(x.matmul(w, transposeB: false)) }
        let labels = g.placeholder("labels", shape: [nil], dtype: .int32)
        let text = g.dump()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.count, g.nodeCount)
        let mm = g.node(h.node.inputs[0])
        let mmLine = lines[mm.id]
        XCTAssertTrue(mmLine.hasPrefix("%\(mm.id) "), mmLine)
        for field in ["layer1/matmul", "matmul", "f32[?, 512]", "(%\(x.id), %\(w.id))", "@ \(here(line))"] {
            XCTAssertTrue(mmLine.contains(field), "'\(field)' missing in: \(mmLine)")
        }
        let reluLine = lines[h.id]
        XCTAssertTrue(reluLine.contains("layer1/relu") && reluLine.contains("relu") && reluLine.contains("(%\(mm.id))"), reluLine)
        XCTAssertTrue(lines[labels.id].contains("i32[?]") && lines[labels.id].contains("placeholder") && lines[labels.id].contains("()"))
        XCTAssertTrue(lines[w.id].contains("f32[784, 512]") && lines[w.id].contains("variable"))
        // Columns line up: every line has its name starting at the same offset.
        let nameColumn = lines.map { l in l.firstIndex(of: " ").map { l.distance(from: l.startIndex, to: $0) } ?? -1 }
        XCTAssertEqual(Set(nameColumn).count, 1)
    }

    func testRolesControlInputsApproximateLocationsAndSubsets() {
        let g = Graph()
        let v = g.variable("v", initializer: .zeros, shape: [2])
        let up = g.withRole(.update) { v.assignAdd(g.constant(1.0)) }
        let x = g.placeholder("x", shape: [2])
        let y = g.withControlDependencies([up]) { x * x }
        let lines = g.dump().split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[up.id].contains("[update]"), lines[up.id])
        XCTAssertTrue(lines[y.id].contains("^[%\(up.id)]"), lines[y.id])
        XCTAssertTrue(lines[y.id].contains("@ near "), lines[y.id])
        let sub = g.dump(nodes: [y.id, x.id])
        XCTAssertEqual(sub.split(separator: "\n").count, 2)
        XCTAssertTrue(sub.hasPrefix("%\(y.id)"))
        XCTAssertEqual(g.dump(nodes: [999, -1, x.id]).split(separator: "\n").count, 1)   // unknown ids skipped
        XCTAssertEqual(Graph().dump(), "")
        // User names with line breaks still give one line per node.
        let odd = x.identity(name: "two\nlines")
        let all = g.dump().split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(all.count, g.nodeCount)
        XCTAssertTrue(all[odd.id].contains("two lines"), String(all[odd.id]))
    }

    /// A 1,000-node chain dumps in one pass, still one line per node (speed is not asserted).
    func testLargeGraphDump() {
        let g = Graph()
        var t = g.placeholder("x", shape: [nil, 1000])
        for i in 0..<999 { t = (i % 2 == 0) ? sin(t) : t * 0.5 }
        XCTAssertGreaterThanOrEqual(g.nodeCount, 1000)
        let text = g.dump()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, g.nodeCount)
        for (i, l) in lines.enumerated() { XCTAssertTrue(l.hasPrefix("%\(i) "), String(l)) }
    }
}
