import XCTest
@testable import Optimizer
import Runtime
import NN

/// O2 against O0 through the real runtime (the Session and its kernels).
func sessionOutputs(_ fetches: [Tensor], feeds: [String: HostTensor], level: OptimizationLevel,
                    disabled: Set<String> = []) throws -> [[Double]] {
    guard let g = fetches.first?.graph else { return [] }
    let s = try Session(g, options: SessionOptions(level: level, disabledPasses: disabled))
    var f: [Tensor: HostTensor] = [:]
    for (name, v) in feeds {
        guard let n = g.node(named: name) else { throw RefError(description: "no node \(name)") }
        f[g.tensor(n.id)] = v
    }
    return try s.run(fetches, feeds: f).map(\.doubles)
}

/// Asserts the Session's O2 outputs equal its O0 outputs within tolerance.
@discardableResult
func assertSessionAgrees(_ fetches: [Tensor], feeds: [String: HostTensor], rtol: Double = 1e-4, atol: Double = 1e-5,
                         file: StaticString = #filePath, line: UInt = #line) throws -> (o0: [[Double]], o2: [[Double]]) {
    let a = try sessionOutputs(fetches, feeds: feeds, level: .O0)
    let b = try sessionOutputs(fetches, feeds: feeds, level: .O2)
    for (x, y) in zip(a, b) {
        XCTAssertEqual(x.count, y.count, file: file, line: line)
        for (u, v) in zip(x, y) {
            if u.isNaN || v.isNaN { XCTAssertEqual(u.isNaN, v.isNaN, "NaN mismatch", file: file, line: line); continue }
            if u.isInfinite || v.isInfinite { XCTAssertEqual(u, v, file: file, line: line); continue }
            XCTAssertLessThanOrEqual(Swift.abs(u - v), atol + rtol * Swift.abs(u), "O0 \(u) vs O2 \(v)", file: file, line: line)
        }
    }
    return (a, b)
}

final class SessionValueTests: XCTestCase {
    func testStabilizationThroughTheRuntime() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [1, 2])
        let v = g.placeholder("v", shape: [2])
        let l = g.placeholder("labels", shape: [1], dtype: .int32)
        let fetches = [log(softmax(x)), log(1.0 + v), exp(v) - 1.0, log(exp(x).sum(axis: 1)), log(1.0 + exp(v * 1000.0)),
                       -(oneHot(l, depth: 2) * log(softmax(x))).sum(axis: 1), log(sigmoid(v * -2000.0))]
        let feeds = ["x": floats([1000, 0], [1, 2]), "v": floats([1e-10, 0.1], [2]),
                     "labels": (try? HostTensor([1] as [Int32], shape: [1])) ?? HostTensor([Int32]())]
        let o0 = try sessionOutputs(fetches, feeds: feeds, level: .O0)
        let o2 = try sessionOutputs(fetches, feeds: feeds, level: .O2)
        // O0 breaks down, O2 does not.
        XCTAssertEqual(o0[0][1], -.infinity); XCTAssertEqual(o2[0], [0, -1000])
        XCTAssertEqual(o0[1][0], 0); XCTAssertEqual(o2[1][0], 1e-10, accuracy: 1e-15)
        XCTAssertEqual(o0[2][0], 0); XCTAssertEqual(o2[2][0], 1e-10, accuracy: 1e-15)
        XCTAssertEqual(o0[3][0], .infinity); XCTAssertEqual(o2[3][0], 1000, accuracy: 1e-3)
        XCTAssertEqual(o0[4][1], .infinity); XCTAssertEqual(o2[4][1], 100, accuracy: 1e-3)
        XCTAssertFalse(o0[5][0].isFinite); XCTAssertEqual(o2[5][0], 1000, accuracy: 1e-3)
        XCTAssertEqual(o0[6][1], -.infinity); XCTAssertEqual(o2[6][1], -200, accuracy: 1e-3)
        // Where O0 is accurate, they agree.
        XCTAssertEqual(o2[1][1], o0[1][1], accuracy: 1e-6)
        XCTAssertEqual(o2[2][1], o0[2][1], accuracy: 1e-6)
        XCTAssertEqual(o2[4][0], o0[4][0], accuracy: 1e-6)
    }

    func testFusionThroughTheRuntime() throws {
        let (_, inputs, out) = Workloads.elementwiseChain(count: 1000)
        var feeds: [String: HostTensor] = [:]
        for (t, d) in zip(inputs, Workloads.chainData(count: 1000)) { feeds[t.name] = d }
        try assertSessionAgrees([out], feeds: feeds)

        let g = Graph()
        let x = g.placeholder("x", shape: [5, 3]), y = g.placeholder("y", shape: [5, 3]), b = g.placeholder("b", shape: [3])
        let w = g.variable("w", initializer: .glorotUniform, shape: [3, 4], seed: 9)
        let c = g.variable("c", initializer: .uniform(low: -1, high: 1), shape: [4], seed: 10)
        let fetches = [relu(x.matmul(w) + c), (x * y).sum(axis: 1), tanh(x * b + y) - sigmoid(b), matmul(x.T, y),
                       (x * 2.0 * 4.0 / 2.0).max(axes: nil)]
        let vals = (0..<15).map { Float($0) * 0.37 - 2.5 }
        try assertSessionAgrees(fetches, feeds: ["x": floats(vals, [5, 3]), "y": floats(vals.reversed(), [5, 3]),
                                                 "b": floats([0.5, -1, 2], [3])])
    }

    func testRandomGraphsThroughTheRuntime() throws {
        var compared = 0
        for seed in 0..<1000 as Range<UInt64> where compared < 500 {
            let (fetches, feeds) = PropertyTests.randomGraph(seed: seed)
            guard (try? fetches[0].graph.validate()) != nil else { continue }
            do {
                try assertSessionAgrees(fetches, feeds: feeds, rtol: 2e-4, atol: 1e-5)
                compared += 1
            } catch {
                XCTFail("seed \(seed): \(error)")
                compared += 1
            }
        }
        XCTAssertEqual(compared, 500)
    }

    func testW1TrainingStepThroughTheRuntime() throws {
        let (m, loss, grads, step) = try WorkloadTests.w1Step(batch: nil, manualLoss: false)
        let data = Workloads.mlpData()
        let feeds = ["x": data.x, "labels": data.labels]
        let (o0, o2) = try assertSessionAgrees([loss] + grads, feeds: feeds, rtol: 1e-3, atol: 1e-6)
        XCTAssertEqual(o0[0][0], Workloads.Reference.mlpLossStep0, accuracy: 1e-5)
        XCTAssertEqual(o2[0][0], Workloads.Reference.mlpLossStep0, accuracy: 1e-5)
        // One fused training step, then the loss: the in-place updates see the values O0 would.
        let s = try Session(m.graph)
        let f = [m.input: data.x, m.labels ?? m.input: data.labels]
        _ = try s.run([loss, step], feeds: f)
        XCTAssertEqual(try s.run(loss, feeds: f).doubles[0], Workloads.Reference.mlpLossStep1, accuracy: 1e-4)
        let report = try s.compileReport(for: [loss, step], feeds: f)
        print("W1 through the Session:\n\(report)")
        XCTAssertEqual(report.fired("linear+activation"), 2)
    }
}

/// Reads of a variable keep their place relative to its assignments through rewrites that
/// return an operand (x · 1 → x): O2 must read what O0 reads.
final class VariableReadOrderTests: XCTestCase {
    func testIdentityRewritesOfAVariableReadAfterAnAssignment() throws {
        for level in [OptimizationLevel.O0, .O2] {
            let g = Graph()
            let v = g.variable("v", initializer: .zeros, shape: [2])
            let before = v * 1.0
            let up = v.assign(v + 1)
            let after = v * 1.0
            let s = try Session(g, options: SessionOptions(level: level))
            let r = try s.run([before, up, after])
            XCTAssertEqual(r[0].floats, [0, 0], "\(level): read before the update")
            XCTAssertEqual(r[2].floats, [1, 1], "\(level): read after the update")
        }
    }
}
