import XCTest
@testable import Optimizer

/// Each stabilization rule on an input where O0 overflows, underflows or cancels and O2 does not.
final class StabilizeTests: XCTestCase {
    func run(_ y: Tensor, _ feeds: [String: HostTensor]) throws -> (o0: [Double], o2: [Double], report: CompileReport, program: Program) {
        let (p0, _) = try compile([y], level: .O0)
        let (p2, r) = try compile([y], level: .O2)
        return (try Ref.outputs(p0, feeds: feeds)[0].data, try Ref.outputs(p2, feeds: feeds)[0].data, r, p2)
    }

    func testLogSoftmax() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [1, 2])
        let r = try run(log(softmax(x)), ["x": floats([1000, 0], [1, 2])])
        XCTAssertEqual(r.o0[1], -.infinity)                 // softmax underflows to 0
        XCTAssertEqual(r.o2, [0, -1000])
        XCTAssertEqual(r.report.fired("log-softmax"), 1)
        XCTAssertEqual(kinds(r.program)["softmax"], nil)
        XCTAssertEqual(kinds(r.program)["logSoftmax"], 1)
    }

    func testLog1p() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2])
        for y in [log(1.0 + x), log(x + 1.0)] {
            let r = try run(y, ["x": floats([1e-10, 3], [2])])
            XCTAssertEqual(r.o0[0], 0)                       // 1 + 1e-10 rounds to 1 in float32
            XCTAssertEqual(r.o2[0], 1e-10, accuracy: 1e-16)
            XCTAssertEqual(r.o2[1], Foundation.log(4.0), accuracy: 1e-6)
            XCTAssertEqual(r.report.fired("log1p"), 1)
        }
    }

    func testExpm1() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2])
        for y in [exp(x) - 1.0, exp(x) + (-1.0)] {
            let r = try run(y, ["x": floats([1e-10, 1], [2])])
            XCTAssertEqual(r.o0[0], 0)
            XCTAssertEqual(r.o2[0], 1e-10, accuracy: 1e-16)
            XCTAssertEqual(r.report.fired("expm1"), 1)
            XCTAssertEqual(kinds(r.program)["exp"], nil)
        }
    }

    func testSoftplus() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2])
        let r = try run(log(1.0 + exp(x)), ["x": floats([100, 0], [2])])
        XCTAssertEqual(r.o0[0], .infinity)                  // exp(100) overflows float32
        XCTAssertEqual(r.o2[0], 100, accuracy: 1e-4)
        XCTAssertEqual(r.o2[1], Foundation.log(2.0), accuracy: 1e-6)
        XCTAssertEqual(r.report.fired("softplus"), 1)
    }

    func testLogSigmoid() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3])
        let r = try run(log(sigmoid(x)), ["x": floats([-200, 0, 30], [3])])
        XCTAssertEqual(r.o0[0], -.infinity)                 // sigmoid(-200) underflows to 0
        XCTAssertEqual(r.o2[0], -200, accuracy: 1e-4)
        XCTAssertEqual(r.o2[1], -Foundation.log(2.0), accuracy: 1e-6)
        XCTAssertEqual(r.o2[2], r.o0[2], accuracy: 1e-6)
        XCTAssertEqual(r.report.fired("log-sigmoid"), 1)
        XCTAssertEqual(kinds(r.program)["sigmoid"], nil)
    }

    func testLogSumExp() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 2])
        for keep in [false, true] {
            let y = log(exp(x).sum(axis: 1, keepDims: keep))
            let r = try run(y, ["x": floats([100, 0, -200, -201], [2, 2])])
            XCTAssertEqual(r.o0[0], .infinity)                // exp(100) overflows
            XCTAssertEqual(r.o0[1], -.infinity)               // exp(-200) underflows: log(0)
            XCTAssertEqual(r.o2[0], 100, accuracy: 1e-4)
            XCTAssertEqual(r.o2[1], -200 + Foundation.log(1 + Foundation.exp(-1.0)), accuracy: 1e-4)
            XCTAssertEqual(r.report.fired("logsumexp"), 1)
            XCTAssertEqual(kinds(r.program)["logsumexp"], 1)
        }
    }

    func testSoftmaxCrossEntropyPatterns() throws {
        let feeds = ["x": floats([1000, 0, 0, 1, 2, 3], [2, 3]), "labels": (try? HostTensor([1, 2] as [Int32], shape: [2])) ?? HostTensor([Int32]())]
        let builders: [(Tensor, Tensor) -> Tensor] = [
            { x, l in -(oneHot(l, depth: 3) * logSoftmax(x)).sum(axis: 1) },
            { x, l in -(log(softmax(x)) * oneHot(l, depth: 3)).sum(axis: 1) },
            { x, l in (-(oneHot(l, depth: 3) * log(softmax(x)))).sum(axis: 1) },
            { x, l in -(oneHot(l, depth: 3) * log(softmax(x))).sum(axis: 1).mean() },
            { x, l in -(oneHot(l, depth: 3) * log(softmax(x))).sum() },
        ]
        for (k, b) in builders.enumerated() {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 3])
            let l = g.placeholder("labels", shape: [2], dtype: .int32)
            let y = b(x, l)
            let (p0, _) = try compile([y], level: .O0)
            let (p2, r) = try compile([y], level: .O2)
            let a = try Ref.outputs(p0, feeds: feeds)[0].data, c = try Ref.outputs(p2, feeds: feeds)[0].data
            XCTAssertEqual(r.fired("softmax-cross-entropy"), 1, "pattern \(k):\n\(p2.dump())")
            XCTAssertEqual(kinds(p2)["softmaxCrossEntropy"], 1, "pattern \(k)")
            XCTAssertEqual(kinds(p2)["oneHot"], nil, "pattern \(k)")
            if k != 0 { XCTAssertTrue(!a[0].isFinite, "pattern \(k): O0 gives \(a)") }  // 0·log(0) or log(0)
            XCTAssertTrue(c[0].isFinite, "pattern \(k): O2 gives \(c)")
            let rowLoss0 = 1000.0
            let ls1 = 3.0 - (3 + Foundation.log(Foundation.exp(-2.0) + Foundation.exp(-1.0) + 1))  // -logSoftmax([1,2,3])[2]
            let expected: [Double] = k == 3 ? [(rowLoss0 - ls1) / 2] : (k == 4 ? [rowLoss0 - ls1] : [rowLoss0, -ls1])
            XCTAssertEqual(c.count, expected.count)
            for (u, v) in zip(c, expected) { XCTAssertEqual(u, v, accuracy: 1e-3, "pattern \(k)") }
        }
    }
}
