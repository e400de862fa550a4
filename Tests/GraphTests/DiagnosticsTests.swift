import XCTest
@testable import Graph

/// Diagnostics: collected while building, thrown together by `validate()`, each naming the
/// node and the caller's `file:line`; no cascades; approximate locations for operators.
final class DiagnosticsTests: XCTestCase {
    func testValidGraphDoesNotThrow() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 4])
        _ = relu(x + 1).sum()
        XCTAssertNoThrow(try g.validate())
        XCTAssertTrue(g.diagnostics.isEmpty)
    }

    func testVariableInitializerValueShape() {
        let g = Graph()
        let value = HostTensor([1, 2, 3] as [Float])
        let line = #line + 1
        let v = g.variable("w", initializer: .value(value), shape: [2, 2])
        assertInvalid(g, node: "w", message: "initial value has float32[3], the variable is float32[2, 2]", location: here(line))
        XCTAssertEqual(v.shape, [2, 2])
        XCTAssertTrue(v.node.isInvalid)
    }

    func testVariableInitializerValueDType() {
        let g = Graph()
        let line = #line + 1
        _ = g.variable("w", initializer: .value(HostTensor([1, 2] as [Double])), shape: [2])
        assertInvalid(g, node: "w", message: "initial value has float64[2]", location: here(line))
    }

    func testRandomInitializerNeedsFloat() {
        let g = Graph()
        let line = #line + 1
        _ = g.variable("k", initializer: .heNormal, shape: [3], dtype: .int32)
        assertInvalid(g, node: "k", message: "needs a floating-point dtype, not int32", location: here(line))
    }

    func testNegativeDimensions() {
        do {
            let g = Graph()
            let line = #line + 1
            let v = g.variable("w", initializer: .zeros, shape: [3, -2])
            assertInvalid(g, node: "w", message: "negative dimension in shape [3, -2]", location: here(line))
            XCTAssertEqual(v.shape, [3, 0])
        }
        do {
            let g = Graph()
            let line = #line + 1
            let p = g.placeholder("x", shape: [nil, -5])
            assertInvalid(g, node: "x", message: "negative dimension -5", location: here(line))
            XCTAssertEqual(p.shape, [nil, nil])
        }
    }

    func testConstantWithWrongValueCount() {
        let g = Graph()
        let line = #line + 1
        let c = g.constant([1, 2, 3] as [Float], shape: [2, 2], name: "c")
        assertInvalid(g, node: "c", message: "3 values do not fill shape [2, 2]", location: here(line))
        XCTAssertTrue(c.node.isInvalid)
    }

    /// Several independent problems are all listed, in creation order, like a compiler's errors.
    func testSeveralProblemsAreAllListed() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 3])
        let w = g.placeholder("w", shape: [4, 5])
        let line1 = #line + 1
        let a = x.matmul(w)
        let line2 = #line + 1
        let b = x.sum(axis: 7)
        let line3 = #line + 1
        let c = x.reshaped([5, 5])
        let ds = g.diagnostics
        XCTAssertEqual(ds.map(\.nodeName), [a.name, b.name, c.name])
        XCTAssertEqual(ds.map(\.location.description), [here(line1), here(line2), here(line3)])
        do {
            try g.validate()
            XCTFail("no error")
        } catch let GraphError.invalidGraph(list) {
            XCTAssertEqual(list.count, 3)
            let text = GraphError.invalidGraph(list).description
            let lines = text.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.first, "3 errors in graph:")
            XCTAssertEqual(lines.count, 4)
            XCTAssertTrue(lines[1].hasPrefix("  \(here(line1)): error: node '\(a.name)' (matmul) with inputs (x: f32[?, 3], w: f32[4, 5]): inner dimensions differ"), lines[1])
            XCTAssertTrue(lines[2].contains("'\(b.name)'") && lines[2].contains(here(line2)), lines[2])
            XCTAssertTrue(lines[3].contains("'\(c.name)'") && lines[3].contains(here(line3)), lines[3])
        } catch { XCTFail("\(error)") }
    }

    func testSingleErrorHeader() {
        let g = Graph()
        let x = g.placeholder("x", shape: [2])
        _ = x.sum(axis: 3)
        XCTAssertThrowsError(try g.validate()) { e in
            XCTAssertTrue("\(e)".hasPrefix("1 error in graph:\n  "), "\(e)")
            XCTAssertEqual((e as? GraphError)?.diagnostics.count, 1)
        }
    }

    /// Nodes built on an invalid node are marked invalid but add no errors of their own.
    func testNoCascadeDownstreamOfAnInvalidNode() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 3])
        let w = g.placeholder("w", shape: [4, 5])
        let line = #line + 1
        let bad = x.matmul(w)
        let w2 = g.placeholder("w2", shape: [7, 2])   // would not fit bad's [?, 5] either
        let down = relu(bad.matmul(w2) + 1).softmax(axis: 3).sum()
        XCTAssertTrue(down.node.isInvalid)
        let ds = assertInvalid(g, node: bad.name, message: "inner dimensions differ", location: here(line))
        XCTAssertEqual(ds.count, 1, "\(ds)")
        // An unrelated later problem is still reported.
        let line2 = #line + 1
        let other = x.reshaped([2, 2])
        XCTAssertEqual(g.diagnostics.count, 2)
        XCTAssertEqual(g.diagnostics.last?.nodeName, other.name)
        XCTAssertEqual(g.diagnostics.last?.location.description, here(line2))
    }

    /// Builder-detected problems (not inference failures) do not cascade either.
    func testNoCascadeAfterBuilderDiagnostics() {
        let g = Graph()
        let c = g.constant([1, 2, 3] as [Float], shape: [2, 2], name: "c")   // becomes a scalar placeholder value
        let w = g.placeholder("w", shape: [2, 2])
        _ = c.matmul(w).sum()                                              // would be "rank ≥ 2"
        let p = g.placeholder("p", shape: [nil, -1])
        _ = p.matmul(w)
        let parts = w.split(sizes: [1, 2], axis: 0)
        _ = parts[0].reshaped([3])
        XCTAssertEqual(g.diagnostics.map(\.nodeName), ["c", "p", parts[0].name], "\(g.diagnostics)")
    }

    /// Operators cannot take `#line`: their nodes take the newest operand's location, marked "near".
    func testOperatorNodesCarryApproximateLocation() {
        let g = Graph()
        let a = g.placeholder("a", shape: [nil, 3])
        let line = #line + 1
        let b = g.placeholder("b", shape: [4])
        let y = a + b
        XCTAssertTrue(y.location.isApproximate)
        XCTAssertEqual(y.location.line, line)
        assertInvalid(g, node: y.name, message: "cannot broadcast", location: "near " + here(line))
        XCTAssertTrue("\(g.diagnostics[0])".hasPrefix("near \(here(line)): error:"))
        // Scalar literals and prefix operators too.
        let g2 = Graph()
        let line2 = #line + 1
        let p = g2.placeholder("p", shape: [2], dtype: .bool)
        let z = p * 2.0
        assertInvalid(g2, node: z.name, message: "dtypes bool and float32 differ", location: "near " + here(line2))
        XCTAssertEqual((-b).location.description, "near " + here(line))
        XCTAssertEqual(b.T.location.description, "near " + here(line))
        // Named builders give the exact line.
        let line3 = #line + 1
        let m = a.add(a)
        XCTAssertEqual(m.location.description, here(line3))
        XCTAssertFalse(m.location.isApproximate)
    }

    func testInputsFromAnotherGraph() {
        let g1 = Graph(), g2 = Graph()
        let a = g1.placeholder("a", shape: [2])
        let b = g2.placeholder("b", shape: [2])
        let line = #line + 1
        let y = a.add(b)
        XCTAssertTrue(y.node.isInvalid)
        XCTAssertTrue(y.graph === g1)
        assertInvalid(g1, node: y.name, message: "different graph", location: here(line))
        XCTAssertNoThrow(try g2.validate())
    }

    func testControlDependencyFromAnotherGraph() {
        let g1 = Graph(), g2 = Graph()
        let x = g1.placeholder("x", shape: [2])
        let line = #line + 1
        let other = g2.placeholder("other", shape: [2])
        let y = g1.withControlDependencies([other, x]) { x.identity() }
        XCTAssertEqual(y.node.controlInputs, [x.id])   // the foreign one is dropped, not misread as a local id
        assertInvalid(g1, node: "other", message: "belongs to a different graph", location: here(line))
    }

    func testWithLocationAttributesNodes() {
        let g = Graph()
        let x = g.placeholder("x", shape: [2])
        let site = SourceLocation(file: "User/Model.swift", line: 42)
        let y = g.withLocation(site) { x.sum(axis: 5) }
        XCTAssertEqual(y.location, site)
        assertInvalid(g, node: y.name, message: "out of range", location: "User/Model.swift:42")
        let z = x.identity()
        XCTAssertNotEqual(z.location, site)   // override ended
    }

    func testGraphErrorCases() {
        let d = Diagnostic(nodeName: "n", op: "relu", inputs: [], message: "boom", location: SourceLocation(file: "F.swift", line: 3))
        XCTAssertEqual(d.description, "F.swift:3: error: node 'n' (relu): boom")
        XCTAssertEqual(GraphError.node(d).description, d.description)
        XCTAssertEqual(GraphError.node(d).diagnostics, [d])
        XCTAssertEqual(GraphError.invalidValue("bad feed").description, "bad feed")
        XCTAssertTrue(GraphError.invalidValue("x").diagnostics.isEmpty)
        XCTAssertEqual(SourceLocation.unknown.description, "<unknown>:0")
        XCTAssertEqual(SourceLocation(file: "A.swift", line: 1, isApproximate: true).description, "near A.swift:1")
    }
}
