// Session behaviour: the benchmark workloads' reference numbers, variables and updates, plan caching and
// memory stats, concurrency, naive mode, check-numerics, and every bad-feed / bad-run error path.
import XCTest
import Dispatch
import Synchronization
import Foundation
@testable import Runtime
import NN
import TestSupport

final class SessionTests: XCTestCase {

    // MARK: Workloads

    func testW1LossAndW1fProbabilities() throws {
        let model = Workloads.mlp()
        let data = Workloads.mlpData()
        let labels = try XCTUnwrap(model.labels)
        let prob0 = softmax(model.logits).slice(begin: [nil, 0], end: [nil, 1]).sum()
        for level in [OptimizationLevel.O0, .O2] {
            let s = try Session(model.graph, options: SessionOptions(level: level))
            let r = try s.run([model.loss, prob0], feeds: [model.input: data.x, labels: data.labels])
            let loss = try XCTUnwrap(r[0].scalarValue), p = try XCTUnwrap(r[1].scalarValue)
            XCTAssertEqual(loss, Workloads.Reference.mlpLossStep0, accuracy: 1e-5 * Workloads.Reference.mlpLossStep0, "\(level)")
            XCTAssertEqual(p, Workloads.Reference.mlpProbClass0Sum, accuracy: 1e-5 * Workloads.Reference.mlpProbClass0Sum, "\(level)")
        }
    }

    func testW1TrainingStep() throws {
        let model = Workloads.mlp()
        let g = model.graph
        let data = Workloads.mlpData()
        let labels = try XCTUnwrap(model.labels)
        let grads = try g.gradients(of: model.loss, with: model.parameters)
        let updates = zip(model.parameters, grads).map { p, d in p.assignSub(d * 0.01) }
        let step = g.group(updates)
        for level in [OptimizationLevel.O0, .O2] {
            let s = try Session(g, options: SessionOptions(level: level))
            let feeds = [model.input: data.x, labels: data.labels]
            let r0 = try s.run([model.loss, step], feeds: feeds)
            XCTAssertEqual(r0[1].shape, [])
            let l1 = try XCTUnwrap(s.run(model.loss, feeds: feeds).scalarValue)
            XCTAssertEqual(try XCTUnwrap(r0[0].scalarValue), Workloads.Reference.mlpLossStep0, accuracy: 1e-5 * 2.49, "\(level)")
            XCTAssertEqual(l1, Workloads.Reference.mlpLossStep1, accuracy: 2e-5 * 2.41, "\(level)")
        }
    }

    func testW3LeNetLoss() throws {
        let model = Workloads.lenet()
        let data = Workloads.lenetData()
        let labels = try XCTUnwrap(model.labels)
        for level in [OptimizationLevel.O0, .O2] {
            let s = try Session(model.graph, options: SessionOptions(level: level))
            let loss = try XCTUnwrap(s.run(model.loss, feeds: [model.input: data.x, labels: data.labels]).scalarValue)
            XCTAssertEqual(loss, Workloads.Reference.lenetLossStep0, accuracy: 2e-5 * Workloads.Reference.lenetLossStep0, "\(level)")
        }
    }

    func testW3LeNetTrainingStep() throws {
        let model = Workloads.lenet()
        let g = model.graph
        let data = Workloads.lenetData()
        let labels = try XCTUnwrap(model.labels)
        let grads = try g.gradients(of: model.loss, with: model.parameters)
        let step = g.group(zip(model.parameters, grads).map { p, d in p.assignSub(d * 0.01) })
        let s = try Session(g)
        let feeds = [model.input: data.x, labels: data.labels]
        _ = try s.run(step, feeds: feeds)
        let l1 = try XCTUnwrap(s.run(model.loss, feeds: feeds).scalarValue)
        XCTAssertEqual(l1, Workloads.Reference.lenetLossStep1, accuracy: 5e-5 * 2.27)
    }

    // MARK: Variables, assign, group

    func testVariablesInitializeAssignAndSet() throws {
        let g = Graph()
        let w = g.variable("w", initializer: .glorotUniform, shape: [3, 4], seed: 5)
        let c = g.variable("c", initializer: .constant(2), shape: [4])
        let x = g.placeholder("x", shape: [4])
        let add = c.assignAdd(x), sub = c.assignSub(x * 3.0), set = c.assign(x)
        let bcast = c.assign(g.constant(7.0))
        let s = try Session(g)
        XCTAssertEqual(try s.variable(w), DeterministicRandom.initialTensor(.glorotUniform, shape: [3, 4], dtype: .float32, seed: 5))
        let one = try RefArray([1, 2, 3, 4], [4]).host()
        rtAssertClose(try s.run(add, feeds: [x: one]), RefArray([3, 4, 5, 6], [4]), tol: 0)
        rtAssertClose(try s.variable(c), RefArray([3, 4, 5, 6], [4]), tol: 0)
        rtAssertClose(try s.run(sub, feeds: [x: one]), RefArray([0, -2, -4, -6], [4]), tol: 0)
        rtAssertClose(try s.run(set, feeds: [x: one]), RefArray([1, 2, 3, 4], [4]), tol: 0)
        rtAssertClose(try s.run(bcast), RefArray([7, 7, 7, 7], [4]), tol: 0)
        try s.setVariable(c, to: try RefArray([9, 8, 7, 6], [4]).host())
        rtAssertClose(try s.run(c), RefArray([9, 8, 7, 6], [4]), tol: 0)
        // A fetched value is a snapshot: later updates do not change it.
        let before = try s.run(c)
        _ = try s.run(add, feeds: [x: one])
        rtAssertClose(before, RefArray([9, 8, 7, 6], [4]), tol: 0)
        // group runs every update and gives a float32 scalar 0.
        let grp = g.group([c.assignAdd(g.constant(1.0)), w.assign(g.constant(0.0))])
        let gv = try s.run(grp)
        XCTAssertEqual(gv.shape, []); XCTAssertEqual(gv.scalarValue, 0)
        rtAssertClose(try s.variable(c), RefArray([11, 11, 11, 11], [4]), tol: 0)
        XCTAssertEqual(try s.variable(w).doubles, Array(repeating: 0, count: 12))
        // Another session has its own variables.
        XCTAssertEqual(try Session(g).variable(c).doubles, [2, 2, 2, 2])
        // setVariable with the wrong shape names the variable.
        XCTAssertThrowsError(try s.setVariable(c, to: HostTensor(zeros: .float32, shape: [5]))) { e in
            XCTAssertTrue("\(e)".contains("'c'") && "\(e)".contains("SessionTests.swift"), "\(e)")
        }
    }

    // MARK: Plans, caching, memory

    func testPlanCacheAndStats() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 64])
        let w = g.variable("w", initializer: .glorotUniform, shape: [64, 64], seed: 1)
        var h = x
        for _ in 0..<4 { h = tanh(relu(h.matmul(w) * 0.5 + 1.0) - 0.25) }
        let out = h.sum(axes: [1])
        let s = try Session(g)
        let a = try Reference.data([8, 64], seed: 1).host(), b = try Reference.data([5, 64], seed: 2).host()
        _ = try s.run(out, feeds: [x: a]); _ = try s.run(out, feeds: [x: a])
        XCTAssertEqual(s.cachedPlanCount, 1)
        _ = try s.run(out, feeds: [x: b])
        XCTAssertEqual(s.cachedPlanCount, 2)
        let stats = try s.planStats(for: [out], feeds: [x: a])
        XCTAssertGreaterThanOrEqual(stats.peakBytes, stats.liveLowerBound)
        XCTAssertLessThan(stats.peakBytes, stats.naiveBytes)
        XCTAssertEqual(stats.outputBytes, 8 * 4)
        let naive = try Session(g, options: SessionOptions(level: .O0)).planStats(for: [out], feeds: [x: a])
        XCTAssertEqual(naive.arenaBytes, 0)
        XCTAssertEqual(naive.peakBytes, naive.naiveBytes)
        XCTAssertEqual(try s.compileReport(for: [out], feeds: [x: a]).level, .O2)
        // Without fusion the elementwise chain runs in place.
        let o1 = try Session(g, options: SessionOptions(level: .O1))
        let st1 = try o1.planStats(for: [out], feeds: [x: a])
        XCTAssertGreaterThan(st1.inPlaceCount, 0, "\(st1)")
        XCTAssertGreaterThanOrEqual(st1.peakBytes, st1.liveLowerBound)
        // The profiler lists every kernel.
        let prof = try o1.profile([out], feeds: [x: a], runs: 2)
        XCTAssertEqual(prof.entries.count, st1.kernelCount)
        XCTAssertTrue(prof.description.contains("matmul"), prof.description)
    }

    func testInPlaceAndViewsKeepValuesRight() throws {
        // Chains where buffers die and get reused, with views, and an intermediate fetched alongside.
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 6])
        let a = exp(x * 0.5)
        let b = a.reshaped([-1, 3, 2]) + 1.0
        let c = (b * b).reshaped([-1, 6]) - a
        let d = c.sum(axes: [1]) + a.sum(axes: [1])
        let xv = Reference.data([4, 6], seed: 3)
        var want: [Double] = []
        var wantC: [Double] = []
        for r in 0..<4 {
            var s = 0.0
            for j in 0..<6 {
                let av = Foundation.exp(Double(Float(xv.values[r * 6 + j])) * 0.5)
                let cv = (av + 1) * (av + 1) - av
                wantC.append(cv); s += cv + av
            }
            want.append(s)
        }
        for level in [OptimizationLevel.O0, .O1, .O2] {
            let r = try Session(g, options: SessionOptions(level: level)).run([d, c], feeds: [x: try xv.host()])
            rtAssertClose(r[0], RefArray(want, [4]), tol: 1e-5, "\(level)")
            rtAssertClose(r[1], RefArray(wantC, [4, 6]), tol: 1e-5, "\(level)")
        }
    }

    func testFusedKernelRunsInPlaceOverADyingInput() throws {
        // t dies at the fused region (read twice there, so it is a leaf of it); the region writes into t's
        // buffer. Large enough for many tiles and both threads; checked against Float64 loops.
        let n = 3 * 40_000 + 17
        let g = Graph()
        let x = g.placeholder("x", shape: [n])
        let t = exp(x * 0.5)
        let y = tanh(t * 2.0 + t * t)
        let fetches = [y.sum(), y.max()]
        let xv = Reference.data([n], seed: 21)
        var sum = 0.0, mx = -Double.infinity
        for v in xv.values {
            let tv = Double(Float(Foundation.exp(Double(Float(v)) * 0.5)))
            let yv = Foundation.tanh(tv * 2 + tv * tv)
            sum += yv; mx = Swift.max(mx, yv)
        }
        for level in [OptimizationLevel.O0, .O2] {
            let s = try Session(g, options: SessionOptions(level: level))
            let r = try s.run(fetches, feeds: [x: try xv.host()])
            XCTAssertEqual(r[0].doubles[0], sum, accuracy: 1e-4 * Swift.abs(sum), "\(level)")
            XCTAssertEqual(r[1].doubles[0], mx, accuracy: 1e-6, "\(level)")
            if level == .O2 {
                let st = try s.planStats(for: fetches, feeds: [x: try xv.host()])
                XCTAssertGreaterThan(st.inPlaceCount, 0, "the fused region reuses t's buffer: \(st)")
            }
        }
    }

    // MARK: Threads

    func testConcurrentRunsMatchSerial() throws {
        let model = Workloads.mlp()
        let g = model.graph
        let counter = g.variable("counter", initializer: .zeros, shape: [])
        let bump = counter.assignAdd(g.constant(1.0))
        let s = try Session(g)
        let probs = softmax(model.logits)
        let batches = (0..<8).map { k -> HostTensor in
            let n = 1 + k % 4
            return (try? Reference.data([n, 784], seed: UInt64(k), lo: 0, hi: 1).host()) ?? HostTensor(zeros: .float32, shape: [n, 784])
        }
        let serial = try batches.map { try s.run(probs, feeds: [model.input: $0]) }
        let runs = 12
        let results = Mutex<[[HostTensor]]>(Array(repeating: [], count: 8))
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for r in 0..<runs {
                do {
                    let k = (t + r) % 8
                    let out = try s.run([probs, bump], feeds: [model.input: batches[k]])
                    results.withLock { $0[t].append(out[0]) }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let all = results.withLock { $0 }
        for t in 0..<8 {
            XCTAssertEqual(all[t].count, runs)
            for (r, v) in all[t].enumerated() { XCTAssertEqual(v, serial[(t + r) % 8], "thread \(t) run \(r)") }
        }
        XCTAssertEqual(try s.variable(counter).scalarValue, Double(8 * runs), "every update applied exactly once")
    }

    // MARK: Run counter

    func testRunCountGivesExactResumeOfRandomOps() throws {
        let g = Graph()
        let w = g.variable("w", initializer: .zeros, shape: [4])
        let u = g.randomUniform(shape: [6], seed: 3)
        let step = w.assignAdd(g.randomNormal(shape: [4], seed: 5))
        let x = g.placeholder("x", shape: [2])
        let plain = x * 2.0
        let a = try Session(g)
        XCTAssertEqual(a.runCount, 0)
        var firstDraws: [HostTensor] = []
        for k in 0..<3 {
            firstDraws.append(try a.run([u, step])[0])
            XCTAssertEqual(a.runCount, UInt64(k + 1))
        }
        // Every run counts, with or without random ops; a run refused before it starts (missing feed) does not.
        _ = try a.run(plain, feeds: [x: HostTensor([Float(1), 2])])
        XCTAssertEqual(a.runCount, 4)
        XCTAssertThrowsError(try a.run(plain))
        XCTAssertEqual(a.runCount, 4)
        // Checkpoint: counter and variables. Then two more steps.
        let saved = (a.runCount, try a.variable(w))
        let next = try (0..<2).map { _ in try a.run([u, step]) }
        let finalW = try a.variable(w)
        XCTAssertNotEqual(next[0][0], next[1][0], "each run draws new numbers")
        XCTAssertTrue(next[0][0].doubles.allSatisfy { $0 >= 0 && $0 < 1 })
        // A new session resumed from the checkpoint draws exactly the same numbers.
        let b = try Session(g)
        try b.setVariable(w, to: saved.1)
        b.setRunCount(saved.0)
        XCTAssertEqual(b.runCount, 4)
        for k in 0..<2 {
            let r = try b.run([u, step])
            XCTAssertEqual(r[0], next[k][0], "uniform draw of resumed run \(k)")
            XCTAssertEqual(r[1], next[k][1], "updated variable after resumed run \(k)")
        }
        XCTAssertEqual(try b.variable(w), finalW)
        // Rewinding replays the first draws.
        a.setRunCount(0)
        for k in 0..<3 { XCTAssertEqual(try a.run(u), firstDraws[k], "replayed run \(k)") }
    }

    // MARK: Check-numerics

    func testCheckNumericsNamesTheFirstBadNode() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3])
        let logLine = #line + 1
        let y = log(x)
        let z = (y * 2.0).sum()
        let feed = try RefArray([1, -1, 2], [3]).host()
        XCTAssertTrue(try XCTUnwrap(Session(g).run(z, feeds: [x: feed]).scalarValue).isNaN)
        for level in [OptimizationLevel.O0, .O2] {
            let s = try Session(g, options: SessionOptions(level: level, checkNumerics: true))
            XCTAssertThrowsError(try s.run(z, feeds: [x: feed])) { e in
                let m = "\(e)"
                XCTAssertTrue(m.contains("NaN"), m)
                XCTAssertTrue(m.contains("SessionTests.swift:\(logLine)"), m)
                XCTAssertTrue(m.contains("log"), m)
                _ = y
            }
            // Finite values pass.
            XCTAssertNoThrow(try s.run(z, feeds: [x: try RefArray([1, 2, 3], [3]).host()]))
        }
    }

    // MARK: Bad feeds and bad runs

    /// Asserts `body` throws a GraphError.node naming `node` and its file:line.
    func assertNodeError(_ node: Tensor, contains extra: String? = nil, file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            guard case GraphError.node(let d) = e else { return XCTFail("not a node error: \(e)", file: file, line: line) }
            let m = "\(e)"
            XCTAssertEqual(d.nodeName, node.name, m, file: file, line: line)
            XCTAssertTrue(m.contains(node.name), m, file: file, line: line)
            XCTAssertTrue(m.contains("\(node.location.file):\(node.location.line)"), m, file: file, line: line)
            XCTAssertTrue(node.location.file.contains("SessionTests.swift"), "\(node.location)", file: file, line: line)
            if let extra { XCTAssertTrue(m.contains(extra), m, file: file, line: line) }
        }
    }

    func testBadFeeds() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 3])
        let y = g.placeholder("y", shape: [nil, 3])
        let labels = g.placeholder("labels", shape: [nil], dtype: .int32)
        let sum = x + y
        let c = g.constant(1.0)
        let s = try Session(g)
        let good = try Reference.data([2, 3], seed: 1).host()
        // Missing placeholder.
        assertNodeError(y, contains: "needs a feed") { _ = try s.run(sum, feeds: [x: good]) }
        // A known dimension that does not match, and a wrong rank.
        assertNodeError(x, contains: "shape [2, 4]") { _ = try s.run(sum, feeds: [x: HostTensor(zeros: .float32, shape: [2, 4]), y: good]) }
        assertNodeError(x, contains: "rank") { _ = try s.run(sum, feeds: [x: HostTensor(zeros: .float32, shape: [6]), y: good]) }
        // Wrong dtype.
        assertNodeError(labels, contains: "float32") { _ = try s.run(labels, feeds: [labels: HostTensor(zeros: .float32, shape: [2])]) }
        // Feeding a non-placeholder is refused.
        assertNodeError(c, contains: "only placeholders") { _ = try s.run(c, feeds: [c: HostTensor(scalar: Float(2))]) }
        // A fetch or a feed from another graph.
        let other = Graph()
        let foreign = other.placeholder("foreign", shape: [1])
        assertNodeError(foreign, contains: "different graph") { _ = try s.run(foreign) }
        assertNodeError(foreign, contains: "different graph") { _ = try s.run(sum, feeds: [x: good, y: good, foreign: HostTensor(zeros: .float32, shape: [1])]) }
        // Run-time broadcast failure (a batch of 2 with 3) names the add.
        assertNodeError(sum, contains: "broadcast") { _ = try s.run(sum, feeds: [x: good, y: HostTensor(zeros: .float32, shape: [3, 3])]) }
    }

    func testBadRuns() throws {
        let g = Graph()
        let p = g.placeholder("p", shape: [4, 2])
        let idx = g.placeholder("idx", shape: [nil], dtype: .int32)
        let gathered = p.gather(idx)
        let v = g.variable("v", initializer: .zeros, shape: [3])
        let val = g.placeholder("val", shape: [nil])
        let upd = v.assign(val)
        let logits = g.placeholder("logits", shape: [nil, 3])
        let labels = g.placeholder("labels", shape: [nil], dtype: .int64)
        let ce = softmaxCrossEntropy(logits: logits, labels: labels)
        let s = try Session(g)
        let pv = try Reference.data([4, 2], seed: 1).host()
        XCTAssertEqual(try s.run(gathered, feeds: [p: pv, idx: HostTensor([Int32(3), 0])]).shape, [2, 2])
        assertNodeError(gathered, contains: "out of range") { _ = try s.run(gathered, feeds: [p: pv, idx: HostTensor([Int32(1), 4])]) }
        assertNodeError(gathered, contains: "out of range") { _ = try s.run(gathered, feeds: [p: pv, idx: HostTensor([Int32(-1)])]) }
        assertNodeError(upd, contains: "cannot assign") { _ = try s.run(upd, feeds: [val: HostTensor([Float(1), 2, 3, 4])]) }
        XCTAssertEqual(try s.run(upd, feeds: [val: HostTensor([Float(1), 2, 3])]).doubles, [1, 2, 3])
        assertNodeError(ce, contains: "out of range") {
            _ = try s.run(ce, feeds: [logits: HostTensor(zeros: .float32, shape: [2, 3]), labels: HostTensor([Int64(0), 3])])
        }
        // A failed run leaves the session usable.
        XCTAssertEqual(try s.run(gathered, feeds: [p: pv, idx: HostTensor([Int32(2)])]).shape, [1, 2])
    }

    func testInvalidGraphIsRejectedAtSessionCreation() {
        let g = Graph()
        let a = g.placeholder("a", shape: [2, 3]), b = g.placeholder("b", shape: [4, 5])
        _ = a.matmul(b)
        XCTAssertThrowsError(try Session(g)) { e in
            guard case GraphError.invalidGraph(let ds) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(ds.count, 1)
        }
    }
}
