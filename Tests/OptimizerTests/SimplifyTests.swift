import XCTest
@testable import Optimizer

final class SimplifyTests: XCTestCase {
    let feeds = ["x": floats([1.5, -2, 0, 3.25, -0.0, 7, 0.125, -9], [2, 4])]

    func check(_ build: (Graph, Tensor) -> Tensor, rule: String, expectKinds: [String: Int], count: Int? = nil,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 4])
        let y = build(g, x)
        let (p, r) = try compile([y], level: .O1)
        XCTAssertGreaterThanOrEqual(r.fired(rule), 1, "\(rule) did not fire:\n\(p.dump())", file: file, line: line)
        for (k, n) in expectKinds { XCTAssertEqual(kinds(p)[k] ?? 0, n, "\(k) in\n\(p.dump())", file: file, line: line) }
        if let count { XCTAssertEqual(p.count, count, p.dump(), file: file, line: line) }
        try assertSameValues([y], feeds: feeds, level: .O1, rtol: 0, atol: 0, file: file, line: line)
    }

    func testIdentity() throws { try check({ _, x in x.identity().stopGradient() * 3 }, rule: "identity", expectKinds: ["identity": 0, "stopGradient": 0]) }
    func testMulOne() throws { try check({ _, x in (x * 1.0) * (1.0 * x) }, rule: "mul-one", expectKinds: ["mul": 1]) }
    func testDivOne() throws { try check({ _, x in exp(x / 1.0) }, rule: "div-one", expectKinds: ["div": 0], count: 2) }
    func testAddNegativeZero() throws {
        try check({ g, x in exp(x + g.constant(-0.0)) }, rule: "add-zero", expectKinds: ["add": 0], count: 2)
        try check({ _, x in exp(x - 0.0) }, rule: "add-zero", expectKinds: ["sub": 0], count: 2)
    }
    func testAddPositiveZeroIsKeptForFloats() throws {
        // (-0) + (+0) = +0: rewriting x + 0 → x would change 1/x from +Inf to -Inf.
        let g = Graph()
        let x = g.placeholder("x", shape: [1])
        let y = 1.0 / (x + 0.0)
        let (p, _) = try compile([y], level: .O1)
        XCTAssertEqual(kinds(p)["add"], 1)
        let (a, b) = try assertSameValues([y], feeds: ["x": floats([-0.0], [1])], level: .O1)
        XCTAssertEqual(a[0].data, [Double.infinity])
        XCTAssertEqual(b[0].data, [Double.infinity])
    }
    func testIntegerAddZero() throws {
        let g = Graph()
        let x = g.placeholder("i", shape: [3], dtype: .int32)
        let y = x + g.constant(0, dtype: .int32)
        let (p, r) = try compile([y], level: .O1)
        XCTAssertEqual(r.fired("add-zero"), 1)
        XCTAssertEqual(p.count, 1)
    }
    func testNegNeg() throws { try check({ _, x in exp(-(-x)) }, rule: "neg-neg", expectKinds: ["neg": 0], count: 2) }
    func testAddNegAndSubNeg() throws {
        try check({ _, x in exp(x) + (-x) }, rule: "add-neg", expectKinds: ["neg": 0, "sub": 1, "add": 0])
        try check({ _, x in exp(x) - (-x) }, rule: "sub-neg", expectKinds: ["neg": 0, "sub": 0, "add": 1])
    }
    func testMulMinusOne() throws { try check({ _, x in exp(x * -1.0) }, rule: "mul-minus-one", expectKinds: ["mul": 0, "neg": 1]) }
    func testDivPowerOfTwo() throws {
        try check({ _, x in x / 4.0 }, rule: "div-pow2", expectKinds: ["div": 0, "mul": 1])
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 4])
        let (p, r) = try compile([x / 3.0], level: .O1)
        XCTAssertEqual(r.fired("div-pow2"), 0, "1/3 is inexact")
        XCTAssertEqual(kinds(p)["div"], 1)
    }
    func testScaleCombine() throws {
        try check({ _, x in (x * 2.0) * 4.0 }, rule: "scale-combine", expectKinds: ["mul": 1])
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 4])
        let (p, r) = try compile([(x * 3.0) * 5.0], level: .O1)
        XCTAssertEqual(r.fired("scale-combine"), 0, "3·5 would round once where the program rounds twice")
        XCTAssertEqual(kinds(p)["mul"], 2)
    }
    func testScaleCombineKeepsOverflow() throws {
        // x·2^100·2^100: a float32 product 2^200 overflows, so the rule must not fire.
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 4])
        let big = Double(sign: .plus, exponent: 100, significand: 1)
        let (p, _) = try compile([(x * big) * big], level: .O1)
        XCTAssertEqual(kinds(p)["mul"], 2)
    }
    func testTransposes() throws {
        try check({ _, x in exp(x.transposed([0, 1])) }, rule: "transpose-identity", expectKinds: ["transpose": 0])
        try check({ _, x in exp(x.T.T) }, rule: "transpose-transpose", expectKinds: ["transpose": 0])
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 3, 4])
        let y = x.transposed([1, 0, 2]).transposed([0, 2, 1])
        let (p, r) = try compile([y], level: .O1)
        XCTAssertEqual(r.fired("transpose-transpose"), 1)
        XCTAssertEqual(kinds(p)["transpose"], 1)
        let v = (0..<24).map { Float($0) }
        try assertSameValues([y], feeds: ["x": floats(v, [2, 3, 4])], level: .O1, rtol: 0, atol: 0)
    }
    func testReshapes() throws {
        try check({ _, x in exp(x.reshaped([4, 2]).reshaped([8])) }, rule: "reshape-reshape", expectKinds: ["reshape": 1])
        try check({ _, x in exp(x.reshaped([2, 4])) }, rule: "reshape-noop", expectKinds: ["reshape": 0])
    }
    func testNoOpBroadcastCastSqueeze() throws {
        try check({ _, x in exp(x.broadcast(to: [2, 4])) }, rule: "broadcast-noop", expectKinds: ["broadcastTo": 0])
        try check({ _, x in exp(x.cast(to: .float32)) }, rule: "cast-noop", expectKinds: ["cast": 0])
        try check({ _, x in exp(x.cast(to: .float64).cast(to: .float32)) }, rule: "cast-roundtrip", expectKinds: ["cast": 0])
        try check({ _, x in exp(x.expandingDims(axis: 1).squeezed(axes: [1])) }, rule: "squeeze-expand",
                  expectKinds: ["squeeze": 0, "expandDims": 0])
    }
    func testReduceNoAxes() throws {
        try check({ _, x in exp(x.sum(axes: [])) }, rule: "reduce-no-axes", expectKinds: ["sum": 0])
    }
    func testNaNAndInfinityPassThroughUnchanged() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [4])
        let y = -(-(x * 1.0 / 1.0)) * 2.0 * 4.0 / 2.0
        let feeds = ["x": floats([.nan, .infinity, -.infinity, -0.0], [4])]
        let (a, b) = try assertSameValues([y], feeds: feeds, level: .O1)
        XCTAssertTrue(a[0].data[0].isNaN && b[0].data[0].isNaN)
        XCTAssertEqual(b[0].data[1], .infinity)
        XCTAssertEqual(b[0].data[3].sign, .minus)
    }
}
