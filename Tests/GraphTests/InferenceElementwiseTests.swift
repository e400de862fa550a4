import XCTest
@testable import Graph

/// Dtype and shape inference of elementwise ops: unary math, broadcasting binary ops,
/// comparisons, logic, where, cast, identity.
final class InferenceElementwiseTests: XCTestCase {
    /// Every unary builder, on float32 with an unknown batch and on float64.
    func testUnaryFloatFunctionsKeepDTypeAndShape() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 3, 5])
        let d = g.placeholder("d", shape: [4], dtype: .float64)
        let builders: [(String, (Tensor) -> Tensor)] = [
            ("neg", { neg($0) }), ("abs", { abs($0) }), ("sign", { sign($0) }), ("exp", { exp($0) }),
            ("log", { log($0) }), ("log1p", { log1p($0) }), ("expm1", { expm1($0) }), ("sqrt", { sqrt($0) }),
            ("rsqrt", { rsqrt($0) }), ("square", { square($0) }), ("reciprocal", { reciprocal($0) }),
            ("sin", { sin($0) }), ("cos", { cos($0) }), ("tanh", { tanh($0) }), ("sigmoid", { sigmoid($0) }),
            ("relu", { relu($0) }), ("leakyRelu", { leakyRelu($0, alpha: 0.2) }), ("elu", { elu($0) }),
            ("softplus", { softplus($0) }), ("erf", { erf($0) }), ("gelu", { gelu($0) }),
            ("floor", { floor($0) }), ("ceil", { ceil($0) }), ("round", { round($0) }),
        ]
        XCTAssertEqual(builders.count, 24)
        for (name, f) in builders {
            let y = f(x)
            assertType(y, .float32, [nil, 3, 5])
            XCTAssertEqual(y.node.inputs, [x.id], name)
            guard case .unary = y.node.op else { return XCTFail("\(name) made \(y.node.op)") }
            XCTAssertTrue(y.name.hasPrefix(name), "\(name) node named \(y.name)")
            assertType(f(d), .float64, [4])
        }
        if case .unary(.leakyRelu(let a)) = leakyRelu(x, alpha: 0.2).node.op { XCTAssertEqual(a, 0.2) } else { XCTFail() }
        if case .unary(.elu(let a)) = elu(x, alpha: 0.5).node.op { XCTAssertEqual(a, 0.5) } else { XCTFail() }
        assertType(-x, .float32, [nil, 3, 5])
        assertValid(g)
    }

    /// Sign-like functions accept integers; transcendental ones do not.
    func testUnaryOnIntegers() {
        let g = Graph()
        let i = g.placeholder("i", shape: [2], dtype: .int32)
        for f in [neg, abs, sign, square, relu, floor, ceil, round] as [(Tensor, String, Int) -> Tensor] {
            assertType(f(i, #fileID, #line), .int32, [2])
        }
        assertValid(g)
        let line = #line + 1
        let e = exp(i)
        XCTAssertEqual(e.dtype, .int32)
        assertInvalid(g, node: e.name, message: "needs a floating-point input", location: here(line))
    }

    func testBinaryBroadcasting() {
        let g = Graph()
        let a = g.placeholder("a", shape: [nil, 1, 5])
        let b = g.placeholder("b", shape: [4, 1])
        let c = g.placeholder("c", shape: [5])
        let s = g.constant(2.0)
        let fs: [(Tensor, Tensor) -> Tensor] = [
            { $0 + $1 }, { $0 - $1 }, { $0 * $1 }, { $0 / $1 }, { pow($0, $1) }, { maximum($0, $1) }, { minimum($0, $1) },
            { $0.add($1) }, { $0.sub($1) }, { $0.mul($1) }, { $0.div($1) }, { $0.pow($1) },
        ]
        for f in fs {
            assertType(f(a, b), .float32, [nil, 4, 5])
            assertType(f(b, a), .float32, [nil, 4, 5])
            assertType(f(a, c), .float32, [nil, 1, 5])
            assertType(f(b, c), .float32, [4, 5])
            assertType(f(s, a), .float32, [nil, 1, 5])
            assertType(f(c, s), .float32, [5])
        }
        // Unknown against 1 stays unknown; unknown against n > 1 becomes n.
        let u = g.placeholder("u", shape: [nil, 3])
        let v = g.placeholder("v", shape: [nil, 1])
        let w = g.placeholder("w", shape: [7, 1])
        assertType(u + v, .float32, [nil, 3])
        assertType(u + w, .float32, [7, 3])
        assertType(u + u, .float32, [nil, 3])
        assertValid(g)
    }

    func testShapeBroadcastRules() {
        XCTAssertEqual(Shape.broadcast([2, 1, 3], [4, 1]), [2, 4, 3])
        XCTAssertEqual(Shape.broadcast([], [3]), [3])
        XCTAssertEqual(Shape.broadcast([nil], [1]), [nil])
        XCTAssertEqual(Shape.broadcast([nil], [6]), [6])
        XCTAssertEqual(Shape.broadcast([nil], [nil]), [nil])
        XCTAssertNil(Shape.broadcast([2, 3], [3, 2]))
        XCTAssertTrue(Shape([nil, 3]).accepts([9, 3]))
        XCTAssertFalse(Shape([nil, 3]).accepts([9, 4]))
        XCTAssertFalse(Shape([nil, 3]).accepts([9]))
        XCTAssertEqual(Shape([nil, 3]).description, "[?, 3]")
        XCTAssertNil(Shape([nil, 3]).elementCount)
        XCTAssertEqual(Shape([2, 3]).elementCount, 6)
        XCTAssertEqual(Shape.scalar.elementCount, 1)
        XCTAssertEqual(normalizeAxis(-1, rank: 3), 2)
        XCTAssertNil(normalizeAxis(3, rank: 3))
        XCTAssertNil(normalizeAxis(-4, rank: 3))
    }

    func testScalarLiteralsTakeTheTensorDType() {
        let g = Graph()
        let x = g.placeholder("x", shape: [2], dtype: .float64)
        let i = g.placeholder("i", shape: [2], dtype: .int64)
        for y in [x + 1, 1 + x, x - 1, 1 - x, x * 2, 2 * x, x / 2, 2 / x, x.pow(2)] {
            assertType(y, .float64, [2])
            let lit = y.graph.node(y.node.inputs.first { g.node($0).op.isSource && $0 != x.id } ?? -1)
            XCTAssertEqual(lit.dtype, .float64)
            XCTAssertEqual(lit.shape, .scalar)
        }
        assertType(i * 3, .int64, [2])
        assertValid(g)
    }

    func testComparisonsGiveBool() {
        let g = Graph()
        let a = g.placeholder("a", shape: [nil, 4])
        let b = g.placeholder("b", shape: [4])
        let i = g.placeholder("i", shape: [3], dtype: .int32)
        let ops: [Tensor] = [a .== b, a .!= b, a .< b, a .<= b, a .> b, a .>= b,
                             a.equal(b), a.notEqual(b), a.less(b), a.lessEqual(b), a.greater(b), a.greaterEqual(b),
                             a .== 0, a .!= 0, a .< 0, a .<= 0, a .> 0, a .>= 0]
        for t in ops { assertType(t, .bool, [nil, 4]) }
        assertType(i .< i, .bool, [3])
        let p = a .> b
        assertType(p .== p, .bool, [nil, 4])  // equality of bools is allowed
        assertValid(g)
    }

    func testLogicalOps() {
        let g = Graph()
        let p = g.placeholder("p", shape: [nil, 3], dtype: .bool)
        let q = g.placeholder("q", shape: [3], dtype: .bool)
        for t in [logicalAnd(p, q), logicalOr(p, q), p .& q, p .| q] { assertType(t, .bool, [nil, 3]) }
        assertType(logicalNot(p), .bool, [nil, 3])
        assertType(.!q, .bool, [3])
        assertValid(g)
    }

    func testWhereBroadcastsAllThree() {
        let g = Graph()
        let c = g.placeholder("c", shape: [nil, 1], dtype: .bool)
        let a = g.placeholder("a", shape: [5])
        let b = g.constant(0.0)
        let w = `where`(c, a, b)
        assertType(w, .float32, [nil, 5])
        XCTAssertEqual(w.node.op, .select)
        XCTAssertEqual(w.node.inputs, [c.id, a.id, b.id])
        assertValid(g)
    }

    func testCastIdentityStopGradient() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 2])
        for d in DType.allCases { assertType(x.cast(to: d), d, [nil, 2]) }
        assertType(x.identity(name: "named"), .float32, [nil, 2])
        XCTAssertEqual(g.node(named: "named")?.op, .identity)
        assertType(x.stopGradient(), .float32, [nil, 2])
        XCTAssertEqual(x.stopGradient().node.op, .stopGradient)
        assertType(x.map(.tanh), .float32, [nil, 2])
        assertType(x.apply(.maximum, x), .float32, [nil, 2])
        assertValid(g)
    }

    func testDTypeProperties() {
        XCTAssertEqual(DType.allCases.map(\.byteSize), [4, 8, 4, 8, 1])
        XCTAssertEqual(DType.allCases.map(\.shortName), ["f32", "f64", "i32", "i64", "bool"])
        XCTAssertEqual(DType.allCases.filter(\.isFloatingPoint), [.float32, .float64])
        XCTAssertEqual(DType.allCases.filter(\.isInteger), [.int32, .int64])
        XCTAssertEqual(DType.allCases.filter { !$0.isNumeric }, [.bool])
    }

    /// Elementwise dtype errors, each with node name and location.
    func testElementwiseDTypeErrors() {
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2])
            let i = g.placeholder("i", shape: [2], dtype: .int32)
            let line = #line + 1
            let y = x.add(i)
            assertInvalid(g, node: y.name, message: "dtypes float32 and int32 differ", location: here(line))
        }
        do {
            let g = Graph()
            let i = g.placeholder("i", shape: [2], dtype: .int32)
            let line = #line + 1
            let y = pow(i, i)
            assertInvalid(g, node: y.name, message: "pow needs floating-point", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2])
            let line = #line + 1
            let y = logicalAnd(x, x)
            assertInvalid(g, node: y.name, message: "needs bool inputs", location: here(line))
            XCTAssertEqual(y.dtype, .bool)
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2])
            let line = #line + 1
            let y = logicalNot(x)
            assertInvalid(g, node: y.name, message: "logicalNot needs bool", location: here(line))
        }
        do {
            let g = Graph()
            let p = g.placeholder("p", shape: [2], dtype: .bool)
            let line = #line + 1
            let y = p.less(p)
            assertInvalid(g, node: y.name, message: "needs numbers", location: here(line))
        }
        do {
            let g = Graph()
            let p = g.placeholder("p", shape: [2], dtype: .bool)
            let line = #line + 1
            let y = p.add(p)
            assertInvalid(g, node: y.name, message: "needs numbers", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2])
            let line = #line + 1
            let y = `where`(x, x, x)
            assertInvalid(g, node: y.name, message: "bool condition", location: here(line))
        }
        do {
            let g = Graph()
            let c = g.placeholder("c", shape: [2], dtype: .bool)
            let x = g.placeholder("x", shape: [2])
            let d = g.placeholder("d", shape: [2], dtype: .float64)
            let line = #line + 1
            let y = `where`(c, x, d)
            assertInvalid(g, node: y.name, message: "branches have dtypes float32 and float64", location: here(line))
        }
    }

    func testBroadcastMismatch() {
        let g = Graph()
        let a = g.placeholder("a", shape: [nil, 3])
        let b = g.placeholder("b", shape: [4])
        let line = #line + 1
        let y = maximum(a, b)
        let ds = assertInvalid(g, node: y.name, message: "cannot broadcast", location: here(line))
        XCTAssertEqual(ds.first?.inputs, ["a: f32[?, 3]", "b: f32[4]"])
        XCTAssertEqual(ds.first?.op, "maximum")
    }
}
