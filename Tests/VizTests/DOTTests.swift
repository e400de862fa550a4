import XCTest
@testable import Viz
import NN

/// Node statements (boxes) in DOT text: lines `"id" [label=…];` that are not edges.
func dotBoxes(_ dot: String) -> [String] {
    dot.split(separator: "\n").compactMap { line -> String? in
        let t = line.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("\""), t.contains("[label="), !t.contains("\" -> \""), !t.hasPrefix("\"[legend]") else { return nil }
        guard let end = t.dropFirst().firstIndex(of: "\"") else { return nil }
        return String(t[t.index(after: t.startIndex)..<end])
    }
}

/// Edges `from -> to` in DOT text (ids unescaped only for plain names).
func dotEdges(_ dot: String) -> [(String, String)] {
    dot.split(separator: "\n").compactMap { line -> (String, String)? in
        let t = line.trimmingCharacters(in: .whitespaces)
        guard let r = t.range(of: "\" -> \""), !t.hasPrefix("\"[legend]") else { return nil }
        let from = String(t[t.index(after: t.startIndex)..<r.lowerBound])
        let rest = t[r.upperBound...]
        guard let q = rest.firstIndex(of: "\"") else { return nil }
        return (from, String(rest[..<q]))
    }
}

/// The attribute text of the box with this id.
func boxLine(_ dot: String, _ id: String) -> String? {
    dot.split(separator: "\n").map(String.init).first {
        $0.trimmingCharacters(in: .whitespaces).hasPrefix("\"\(id)\" [label=")
    }
}

/// A program with the three fused kernel kinds, made by hand.
func makeFusedProgram() -> Program {
    let loc = SourceLocation(file: "T.swift", line: 1)
    typealias I = Program.Instruction
    let body = FusedProgram(steps: [.input(0), .input(1), .binary(.mul, 0, 1), .unary(.tanh, 2)],
                            dtypes: [.float32, .float32, .float32, .float32])
    let sq = FusedProgram(steps: [.input(0), .binary(.mul, 0, 0)], dtypes: [.float32, .float32])
    return Program(instructions: [
        I(op: .placeholder, inputs: [], dtype: .float32, shape: [nil, 4], name: "x", location: loc),
        I(op: .variable(.ones, seed: 0), inputs: [], dtype: .float32, shape: [4, 3], name: "w", location: loc),
        I(op: .variable(.zeros, seed: 0), inputs: [], dtype: .float32, shape: [3], name: "b", location: loc),
        I(op: .linear(transposeA: false, transposeB: false, activation: .relu), inputs: [0, 1, 2],
          dtype: .float32, shape: [nil, 3], name: "dense/add", location: loc),
        I(op: .fused(body), inputs: [3, 3], dtype: .float32, shape: [nil, 3], name: "act", location: loc),
        I(op: .fusedReduce(.sum, axes: [0, 1], keepDims: false, sq), inputs: [4], dtype: .float32, shape: [],
          name: "loss", location: loc),
    ], outputs: [5])
}

final class DOTTests: XCTestCase {
    /// x (placeholder), w (variable), 2.0 (constant), dense/matmul, dense/add, dense/relu.
    func smallGraph() -> Graph {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 3])
        g.withScope("dense") {
            let w = g.variable("w", initializer: .ones, shape: [3, 2])
            let c = g.constant(2.0, name: "two")
            _ = relu(x.matmul(w) + c)
        }
        return g
    }

    func testNodesEdgesAndLabels() {
        let g = smallGraph()
        let dot = g.dot(DOTOptions(title: "small"))
        XCTAssertTrue(dot.hasPrefix("digraph"))
        XCTAssertEqual(Set(dotBoxes(dot)), Set(g.nodes.map(\.name)))
        let edges = Set(dotEdges(dot).map { "\($0.0)->\($0.1)" })
        XCTAssertEqual(edges, ["x->dense/matmul", "dense/w->dense/matmul", "dense/matmul->dense/add",
                               "dense/two->dense/add", "dense/add->dense/relu"])
        // op, name (inside the scope's cluster: the base name), dtype and shape.
        let mm = boxLine(dot, "dense/matmul") ?? ""
        XCTAssertTrue(mm.contains("label=\"matmul\\nf32[?, 2]\""), mm)
        XCTAssertTrue(boxLine(dot, "dense/two")?.contains("label=\"const(2.0)\\ntwo\\nf32[]\"") ?? false)
        XCTAssertTrue(boxLine(dot, "x")?.contains("label=\"placeholder\\nx\\nf32[?, 3]\"") ?? false)
        // Distinct styles per kind.
        XCTAssertTrue(boxLine(dot, "x")?.contains("shape=invhouse") ?? false)
        XCTAssertTrue(boxLine(dot, "dense/w")?.contains("shape=cylinder") ?? false)
        XCTAssertTrue(boxLine(dot, "dense/two")?.contains("dashed") ?? false)
        XCTAssertTrue(boxLine(dot, "dense/two")?.contains("const(2.0)") ?? false)
        XCTAssertTrue(mm.contains("shape=box,"))
        // The scope is a cluster labelled with its name; the title is on top.
        XCTAssertTrue(dot.contains("subgraph \"cluster_s1\" {\n    label=\"dense\""), dot)
        XCTAssertTrue(dot.contains("label=\"small\\l\""))
    }

    func testFullNamesWithoutScopeClusters() {
        let dot = smallGraph().dot(DOTOptions(showScopes: false))
        XCTAssertFalse(dot.contains("cluster_s"))
        XCTAssertTrue(boxLine(dot, "dense/matmul")?.contains("\\ndense/matmul\\n") ?? false)
    }

    func testEscaping() {
        let g = Graph()
        let p = g.placeholder("a\"b\\c<d>\\N", shape: [2])
        _ = -p
        let dot = g.dot()
        XCTAssertTrue(dot.contains("\"a\\\"b\\\\c<d>\\\\N\" [label=\"placeholder\\na\\\"b\\\\c<d>\\\\N\\nf32[2]\""), dot)
        XCTAssertEqual(dotEscape("x\ny\t\u{1}"), "x\\ny  ")
    }

    func testGradientAndUpdateRolesAreTinted() {
        let g = Graph()
        let x = g.placeholder("x", shape: [2])
        let w = g.variable("w", initializer: .ones, shape: [2])
        let y = x * w
        let d = g.withRole(.gradient) { y * 2.0 }
        _ = g.withRole(.update) { w.assignSub(d) }
        let dot = g.dot()
        let fwd = boxLine(dot, y.name) ?? "", grad = boxLine(dot, d.name) ?? ""
        let upd = boxLine(dot, g.nodes.last?.name ?? "") ?? ""
        XCTAssertTrue(fwd.contains("fillcolor=\"#ffffff\""), fwd)
        XCTAssertTrue(grad.contains("fillcolor=\"#fde2e1\""), grad)
        XCTAssertTrue(grad.contains("bold"), grad)
        XCTAssertTrue(upd.contains("fillcolor=\"#e3f4e1\""), upd)
        XCTAssertTrue(upd.contains("shape=hexagon"), upd)
        XCTAssertTrue(upd.contains("assignSub"), upd)
    }

    func testInvalidNodesAreMarked() {
        let g = Graph()
        let a = g.placeholder("a", shape: [2, 3]), b = g.placeholder("b", shape: [4, 5])
        let m = a.matmul(b)
        let line = boxLine(g.dot(), m.name) ?? ""
        XCTAssertTrue(line.contains("(invalid)") && line.contains("#ff0000"), line)
    }

    func testFusedKernelsAreClustersOfTheirOps() {
        let dot = makeFusedProgram().dot(DOTOptions(), report: CompileReport(level: .O2, passes: [
            PassReport(name: "fuse", instructionsBefore: 9, instructionsAfter: 6, rulesFired: ["elementwise": 2], seconds: 0)]))
        XCTAssertEqual(dot.components(separatedBy: "subgraph \"cluster_k").count - 1, 3)
        let boxes = Set(dotBoxes(dot))
        for id in ["x", "w", "b", "dense/add::mm", "dense/add::bias", "dense/add::act",
                   "act::r0", "act::r1", "act::r2", "act::r3", "loss::r0", "loss::r1", "loss::reduce"] {
            XCTAssertTrue(boxes.contains(id), id)
        }
        XCTAssertFalse(boxes.contains("act"))
        let edges = Set(dotEdges(dot).map { "\($0.0)->\($0.1)" })
        for e in ["x->dense/add::mm", "w->dense/add::mm", "b->dense/add::bias", "dense/add::mm->dense/add::bias",
                  "dense/add::bias->dense/add::act", "dense/add::act->act::r0", "dense/add::act->act::r1",
                  "act::r0->act::r2", "act::r1->act::r2", "act::r2->act::r3", "act::r3->loss::r0",
                  "loss::r0->loss::r1", "loss::r1->loss::reduce"] {
            XCTAssertTrue(edges.contains(e), e)
        }
        XCTAssertTrue(boxLine(dot, "act::r2")?.contains("label=\"mul\"") ?? false)
        XCTAssertTrue(boxLine(dot, "loss::reduce")?.contains("label=\"sum[0, 1]\"") ?? false)
        XCTAssertTrue(dot.contains("label=\"fused(4) · act\\nf32[?, 3]\""), dot)
        // The compile report is the caption, left-aligned.
        XCTAssertTrue(dot.contains("compile report (O2)") && dot.contains("fuse: 9 → 6"), dot)
        // Bodies hidden: one 3-D box per kernel, outputs doubly outlined.
        let flat = makeFusedProgram().dot(DOTOptions(showFusedBodies: false))
        XCTAssertEqual(Set(dotBoxes(flat)), ["x", "w", "b", "dense/add", "act", "loss"])
        XCTAssertTrue(boxLine(flat, "loss")?.contains("peripheries=2") ?? false)
        XCTAssertTrue(boxLine(flat, "act")?.contains("box3d") ?? false)
        // Under a tight size cap the bodies are hidden, and the picture says so.
        let capped = makeFusedProgram().dot(DOTOptions(maxNodes: 8))
        XCTAssertEqual(dotBoxes(capped).count, 6)
        XCTAssertTrue(capped.contains("size cap of 8 boxes (6 nodes): scopes deeper than 0 collapsed; fused kernel bodies hidden"), capped)
    }

    func testScopeCollapsingByDepth() {
        let g = Graph()
        var h = g.placeholder("x", shape: [4])
        for i in 0..<10 {
            g.withScope("block\(i)") {
                for _ in 0..<5 { h = tanh(h) }
                g.withScope("inner") { for _ in 0..<5 { h = sin(h) } }
            }
        }
        XCTAssertEqual(g.nodeCount, 101)
        let full = dotBoxes(g.dot(DOTOptions(maxNodes: nil)))
        XCTAssertEqual(full.count, 101)
        let d1 = g.dot(DOTOptions(collapseDepth: 1, maxNodes: nil))
        // 1 + 10 × (5 tanh + one box for block_i/inner).
        XCTAssertEqual(dotBoxes(d1).count, 61)
        XCTAssertTrue(dotBoxes(d1).contains("[scope] block3/inner"))
        XCTAssertTrue(boxLine(d1, "[scope] block3/inner")?.contains("5 nodes (collapsed scope)\\nsin ×5") ?? false)
        let d0 = g.dot(DOTOptions(collapseDepth: 0, maxNodes: nil))
        XCTAssertEqual(Set(dotBoxes(d0)), Set(["x"] + (0..<10).map { "[scope] block\($0)" }))
        XCTAssertTrue(dotEdges(d0).contains { $0 == ("[scope] block0", "[scope] block1") })
        let named = g.dot(DOTOptions(collapsedScopes: ["block2"], maxNodes: nil))
        XCTAssertEqual(dotBoxes(named).count, 101 - 10 + 1)
    }

    func testSizeCapCollapsesScopesThenSummarizes() {
        let mlp = Workloads.mlp().graph
        // The MLP has 3 scopes of 6–7 nodes: a cap of 12 collapses them.
        let capped = mlp.dot(DOTOptions(maxNodes: 12))
        XCTAssertLessThanOrEqual(dotBoxes(capped).count, 12)
        XCTAssertTrue(dotBoxes(capped).contains("[scope] dense2"))
        XCTAssertTrue(capped.contains("size cap of 12 boxes (\(mlp.nodeCount) nodes): scopes deeper than 0 collapsed"), capped)

        // A chain without scopes: the middle is summarized.
        let chain = Workloads.unrolledChain(steps: 500).graph
        let dot = chain.dot(DOTOptions(maxNodes: 101))
        let boxes = dotBoxes(dot)
        XCTAssertEqual(boxes.count, 101)
        XCTAssertTrue(boxes.contains("[summary]") && boxes.contains("x0"))
        XCTAssertTrue(boxes.contains(chain.nodes.last?.name ?? "?"))
        let summarized = chain.nodeCount - 100
        XCTAssertTrue(dot.contains("… \(summarized) nodes summarized …"), dot)
        XCTAssertTrue(dot.contains("\(summarized) nodes in the middle summarized into one box"))
        XCTAssertFalse(dot.contains("fused kernel bodies hidden"))
        // The default cap applies to big graphs.
        XCTAssertLessThanOrEqual(dotBoxes(chain.dot()).count, DOTOptions.defaultMaxNodes)
    }
}
