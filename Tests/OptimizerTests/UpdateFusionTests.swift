import XCTest
@testable import Optimizer
import Runtime
import NN
import TestSupport

/// `fuse-update`: `assignSub(v, matmul(a, b) * c)` → `assignMatMul(a, b, alpha: -c)`, one GEMM into the
/// variable. Structure (where it fires and where it must not) and values (Float64 references, O0 runs,
/// W1's reference loss).
final class UpdateFusionTests: XCTestCase {
    private func host(_ r: RefArray, _ d: DType = .float32) throws -> HostTensor {
        try HostTensor(r.values, shape: r.shape).converted(to: d)
    }

    /// A small graph: v (4×3) ← v − c·(aᵀ b), a (5×4), b (5×3) placeholders.
    private func small(dtype: DType = .float32, scale: Double = 0.25)
        -> (g: Graph, v: Tensor, a: Tensor, b: Tensor, mm: Tensor, scaled: Tensor, upd: Tensor) {
        let g = Graph()
        let v0 = Reference.data([4, 3], seed: 7)
        let v = g.variable("v", value: (try? host(v0, dtype)) ?? HostTensor(zeros: dtype, shape: [4, 3]))
        let a = g.placeholder("a", shape: [nil, 4], dtype: dtype)
        let b = g.placeholder("b", shape: [nil, 3], dtype: dtype)
        let mm = a.matmul(b, transposeA: true)
        let scaled = mm * scale
        let upd = v.assignSub(scaled)
        return (g, v, a, b, mm, scaled, upd)
    }

    /// A zero [4, 3] variable and the product aᵀ × b of placeholders a [5, 4], b [5, 3].
    private func zeroUpdateOperands() -> (g: Graph, v: Tensor, mm: Tensor, b: Tensor) {
        let g = Graph()
        let v = g.variable("v", initializer: .zeros, shape: [4, 3])
        let a = g.placeholder("a", shape: [5, 4]), b = g.placeholder("b", shape: [5, 3])
        return (g, v, a.matmul(b, transposeA: true), b)
    }

    private func smallFeeds(_ t: (g: Graph, v: Tensor, a: Tensor, b: Tensor, mm: Tensor, scaled: Tensor, upd: Tensor),
                            dtype: DType = .float32) throws -> [Tensor: HostTensor] {
        [t.a: try host(Reference.data([5, 4], seed: 1), dtype), t.b: try host(Reference.data([5, 3], seed: 2), dtype)]
    }

    /// v − scale · aᵀ b in Float64 (inputs are float32-exact).
    private func expectedUpdate(scale: Double) -> [Double] {
        let v0 = Reference.data([4, 3], seed: 7), a = Reference.data([5, 4], seed: 1), b = Reference.data([5, 3], seed: 2)
        let p = Reference.matmul(a, b, transposeA: true)
        return (0..<12).map { v0.values[$0] - scale * p.values[$0] }
    }

    // MARK: Structure

    func testFiresOnTheW1Step() throws {
        let (_, loss, _, step) = try WorkloadTests.w1Step(batch: nil, manualLoss: false)
        let (p, r) = try compile([loss, step])
        XCTAssertEqual(r.fired("assign-matmul"), 3, "\(r)")
        let k = kinds(p)
        XCTAssertEqual(k["assignMatMul"], 3, p.dump())
        XCTAssertEqual(k["assignSub"], 3, "the bias updates stay")
        XCTAssertEqual(k["matmul"], 2, "dh2 and dh1 stay plain GEMMs")
        for ins in p.instructions {
            guard case .assignMatMul(let ta, let tb, let alpha) = ins.op else { continue }
            XCTAssertTrue(ta && !tb, "dW = hᵀ dZ")
            XCTAssertEqual(alpha, -Double(Float(0.01)))
            guard case .variable = p.instructions[ins.inputs[0]].op else { return XCTFail("input 0 is not the variable") }
        }
    }

    func testFiresForAddSubAndEitherOperandOrder() throws {
        for (form, alpha) in [("sub", -0.25), ("add", 0.25), ("c*mm", -0.25), ("plain", -1.0)] {
            let (_, v, mm, _) = zeroUpdateOperands()
            let upd: Tensor
            switch form {
            case "add": upd = v.assignAdd(mm * 0.25)
            case "c*mm": upd = v.assignSub(0.25 * mm)
            case "plain": upd = v.assignSub(mm)
            default: upd = v.assignSub(mm * 0.25)
            }
            let (p, r) = try compile([upd])
            XCTAssertEqual(r.fired("assign-matmul"), 1, form)
            let fused = p.instructions.compactMap { ins -> Double? in
                if case .assignMatMul(_, _, let al) = ins.op { return al } else { return nil }
            }
            XCTAssertEqual(fused, [alpha], form)
        }
    }

    func testDoesNotFireWhenTheGradientOrTheScaledValueIsFetched() throws {
        let t = small()
        for extra in [t.mm, t.scaled] {
            let (p, r) = try compile([t.upd, extra])
            XCTAssertEqual(r.fired("assign-matmul"), 0, p.dump())
            XCTAssertEqual(kinds(p)["assignSub"], 1)
        }
        // The gradient read by something else too.
        let other = t.mm.sum()
        let (_, r) = try compile([t.upd, other])
        XCTAssertEqual(r.fired("assign-matmul"), 0)
    }

    func testDoesNotFireWhenUnsafeOrInexact() throws {
        // A scale that is not a constant, or zero (0 · NaN must stay NaN), or not finite.
        for kind in ["placeholder", "zero", "inf", "broadcast", "disabled", "control"] {
            let (g, v, mm, b) = zeroUpdateOperands()
            let upd: Tensor
            switch kind {
            case "placeholder": upd = v.assignSub(mm * g.placeholder("lr", shape: []))
            case "zero": upd = v.assignSub(mm * 0.0)
            case "inf": upd = v.assignSub(mm * Double.infinity)
            case "broadcast":
                // A [1, 3] product broadcast into a [4, 3] variable.
                let a1 = g.placeholder("a1", shape: [5, 1])
                upd = v.assignSub(a1.matmul(b, transposeA: true) * 0.5)
            case "disabled":
                upd = v.assignSub(mm * 0.5)
            default:
                // The update waits for another assignment: it keeps that control input and its place.
                let side = g.variable("side", initializer: .zeros, shape: [])
                let bump = side.assignAdd(g.constant(1.0))
                let scaled = mm * 0.5
                upd = g.withControlDependencies([bump]) { v.assignSub(scaled) }
            }
            let (p, r) = try compile([upd], disabled: kind == "disabled" ? ["fuse-update"] : [])
            XCTAssertEqual(r.fired("assign-matmul"), kind == "control" ? 1 : 0, "\(kind)\n\(p.dump())")
            if kind == "control", let u = p.outputs.first {
                XCTAssertEqual(p.instructions[u].controlInputs.count, 1, "the control input stays on the update")
            }
        }
    }

    func testDoesNotMoveAFactorReadAcrossAnAssignment() throws {
        // mm reads u; u is assigned after mm and before v's update: the product must use the old u.
        let g = Graph()
        let u = g.variable("u", value: try host(Reference.data([5, 4], seed: 3)))
        let v = g.variable("v", value: try host(Reference.data([4, 3], seed: 7)))
        let b = g.placeholder("b", shape: [5, 3])
        let mm = u.matmul(b, transposeA: true)
        let resetU = u.assign(g.constant(0.0))
        let upd = v.assignSub(mm * 0.5)
        let step = g.group([resetU, upd])
        let (p, r) = try compile([step])
        XCTAssertEqual(r.fired("assign-matmul"), 0, p.dump())
        // Through a view of u as well.
        let g2 = Graph()
        let u2 = g2.variable("u", value: try host(Reference.data([20], seed: 3)))
        let v2 = g2.variable("v", value: try host(Reference.data([4, 3], seed: 7)))
        let b2 = g2.placeholder("b", shape: [5, 3])
        let mm2 = u2.reshaped([5, 4]).matmul(b2, transposeA: true)
        let reset2 = u2.assign(g2.constant(0.0))
        let step2 = g2.group([reset2, v2.assignSub(mm2 * 0.5)])
        let (p2, r2) = try compile([step2])
        XCTAssertEqual(r2.fired("assign-matmul"), 0, p2.dump())

        // And the values through the Session equal a Float64 reference with the old u.
        let bv = Reference.data([5, 3], seed: 2)
        let s = try Session(g)
        _ = try s.run(step, feeds: [b: try host(bv)])
        let want = Reference.matmul(Reference.data([5, 4], seed: 3), bv, transposeA: true)
        let v0 = Reference.data([4, 3], seed: 7)
        let got = try s.variable(v).doubles
        for i in 0..<12 { XCTAssertEqual(got[i], v0.values[i] - 0.5 * want.values[i], accuracy: 1e-5) }
    }

    // MARK: Values

    func testValuesMatchAFloat64Reference() throws {
        for d in [DType.float32, .float64] {
            let t = small(dtype: d)
            let s = try Session(t.g)
            let feeds = try smallFeeds(t, dtype: d)
            XCTAssertEqual(try s.compileReport(for: [t.upd], feeds: feeds).fired("assign-matmul"), 1)
            let r = try s.run(t.upd, feeds: feeds)
            let want = expectedUpdate(scale: 0.25)
            let tol = d == .float32 ? 1e-6 : 1e-14
            for (x, y) in zip(r.doubles, want) { XCTAssertEqual(x, y, accuracy: tol * Swift.max(1, Swift.abs(y)), "\(d)") }
            XCTAssertEqual(try s.variable(t.v).doubles, r.doubles, "the variable holds the returned value")
            // A second run applies the update again, to the new value.
            _ = try s.run(t.upd, feeds: feeds)
            let v0 = Reference.data([4, 3], seed: 7).values
            for (k, x) in try s.variable(t.v).doubles.enumerated() {
                XCTAssertEqual(x, v0[k] - 2 * (v0[k] - want[k]), accuracy: 2 * tol * Swift.max(1, Swift.abs(x)))
            }
        }
    }

    func testReadsOfTheVariableBeforeAndAfterTheUpdateKeepTheirValues() throws {
        // `before` reads v ahead of the update, `after` is made after it (program order = graph order):
        // O0 and O2 must agree, and both must match the Float64 reference.
        let g = Graph()
        let v0 = Reference.data([4, 3], seed: 7)
        let v = g.variable("v", value: try host(v0))
        let a = g.placeholder("a", shape: [nil, 4]), b = g.placeholder("b", shape: [nil, 3])
        let before = v * 3.0
        let upd = v.assignSub(a.matmul(b, transposeA: true) * 0.25)
        let after = v * 2.0
        let feeds = [a: try host(Reference.data([5, 4], seed: 1)), b: try host(Reference.data([5, 3], seed: 2))]
        let fetches = [before, upd, after, v]
        let want = expectedUpdate(scale: 0.25)
        for level in [OptimizationLevel.O0, .O2] {
            let s = try Session(g, options: SessionOptions(level: level))
            let r = try s.run(fetches, feeds: feeds)
            if level == .O2 { XCTAssertEqual(try s.compileReport(for: fetches, feeds: feeds).fired("assign-matmul"), 1) }
            for k in 0..<12 {
                XCTAssertEqual(r[0].doubles[k], Double(Float(3 * v0.values[k])), "\(level): a read before the update sees the old value")
                XCTAssertEqual(r[1].doubles[k], want[k], accuracy: 1e-6, "\(level)")
                XCTAssertEqual(r[2].doubles[k], 2 * want[k], accuracy: 2e-6, "\(level): a read after the update sees the new value")
                XCTAssertEqual(r[3].doubles[k], v0.values[k], "\(level): a fetched variable is read where it stands (before the update)")
            }
        }
    }

    func testHandMadeAssignMatMulKernel() throws {
        // The op built directly (every transpose, both float dtypes, a zero inner dimension) against Float64 loops.
        for d in [DType.float32, .float64] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                for k in [6, 0] {
                    let g = Graph()
                    let v0 = Reference.data([4, 5], seed: 9)
                    let av = Reference.data(ta ? [k, 4] : [4, k], seed: 10), bv = Reference.data(tb ? [5, k] : [k, 5], seed: 11)
                    let v = g.variable("v", value: try host(v0, d))
                    let a = g.placeholder("a", shape: Shape(av.shape.map { $0 }), dtype: d)
                    let b = g.placeholder("b", shape: Shape(bv.shape.map { $0 }), dtype: d)
                    let upd = g.addNode(.assignMatMul(transposeA: ta, transposeB: tb, alpha: -0.75), inputs: [v, a, b], location: .unknown)
                    let p = Reference.matmul(av, bv, transposeA: ta, transposeB: tb)
                    for level in [OptimizationLevel.O0, .O2] {
                        let s = try Session(g, options: SessionOptions(level: level))
                        let got = try s.run(upd, feeds: [a: try host(av, d), b: try host(bv, d)]).doubles
                        let tol = d == .float32 ? 1e-6 : 1e-14
                        for i in 0..<20 {
                            let w = v0.values[i] - 0.75 * p.values[i]
                            XCTAssertEqual(got[i], w, accuracy: tol * Swift.max(1, Swift.abs(w)), "\(d) tA=\(ta) tB=\(tb) k=\(k) \(level)")
                        }
                    }
                }
            }
        }
        // A product that does not fit the variable is an error when the graph is built, not a crash.
        let g = Graph()
        let v = g.variable("v", initializer: .zeros, shape: [4, 5])
        _ = g.addNode(.assignMatMul(transposeA: false, transposeB: false, alpha: 1), inputs: [v, g.placeholder("a", shape: [3, 2]), g.placeholder("b", shape: [2, 5])], location: .unknown)
        XCTAssertThrowsError(try Session(g))
    }

    func testVariableAsItsOwnFactor() throws {
        // v ← v − 0.5 · vᵀ b: the product reads the variable the GEMM writes (computed through a temporary).
        let g = Graph()
        let v0 = Reference.data([3, 3], seed: 4), bv = Reference.data([3, 3], seed: 5)
        let v = g.variable("v", value: try host(v0))
        let b = g.placeholder("b", shape: [3, 3])
        let upd = v.assignSub(v.matmul(b, transposeA: true) * 0.5)
        let s = try Session(g)
        XCTAssertEqual(try s.compileReport(for: [upd], feeds: [b: try host(bv)]).fired("assign-matmul"), 1)
        let got = try s.run(upd, feeds: [b: try host(bv)]).doubles
        let p = Reference.matmul(v0, bv, transposeA: true)
        for k in 0..<9 { XCTAssertEqual(got[k], v0.values[k] - 0.5 * p.values[k], accuracy: 1e-6) }
    }

    func testW1StepLossAndWeightsMatchO0() throws {
        let (m, loss, _, step) = try WorkloadTests.w1Step(batch: nil, manualLoss: false)
        let data = Workloads.mlpData()
        let feeds = [m.input: data.x, m.labels ?? m.input: data.labels]
        var weights: [OptimizationLevel: [[Double]]] = [:]
        for level in [OptimizationLevel.O0, .O2] {
            let s = try Session(m.graph, options: SessionOptions(level: level))
            let l0 = try s.run([loss, step], feeds: feeds)[0].doubles[0]
            let l1 = try s.run(loss, feeds: feeds).doubles[0]
            XCTAssertEqual(l0, Workloads.Reference.mlpLossStep0, accuracy: 1e-5 * Workloads.Reference.mlpLossStep0, "\(level)")
            XCTAssertEqual(l1, Workloads.Reference.mlpLossStep1, accuracy: 1e-5 * Workloads.Reference.mlpLossStep1, "\(level)")
            weights[level] = try m.parameters.map { try s.variable($0).doubles }
            if level == .O2 { XCTAssertEqual(try s.compileReport(for: [loss, step], feeds: feeds).fired("assign-matmul"), 3) }
        }
        let w0 = try XCTUnwrap(weights[.O0]), w2 = try XCTUnwrap(weights[.O2])
        for (k, (a, b)) in zip(w0, w2).enumerated() {
            var worst = 0.0
            for (x, y) in zip(a, b) { worst = Swift.max(worst, Swift.abs(x - y)) }
            XCTAssertLessThanOrEqual(worst, 1e-6, "parameter \(k): O2 updates differ from O0 by \(worst)")
        }
    }

    func testFiresForTheAssignFormAndNNsSGD() throws {
        // assign(v, v - mm·c), assign(v, mm·c + v), assign(v, v - mm).
        for form in ["sub", "add-left", "plain"] {
            let (_, v, mm, _) = zeroUpdateOperands()
            let upd: Tensor
            switch form {
            case "add-left": upd = v.assign(mm * 0.25 + v)
            case "plain": upd = v.assign(v - mm)
            default: upd = v.assign(v - mm * 0.25)
            }
            let (p, r) = try compile([upd])
            XCTAssertEqual(r.fired("assign-matmul"), 1, "\(form)\n\(p.dump())")
        }
        // NN's SGD: assign(p, p - d·lr) with control dependencies on every gradient and the loss.
        let m = Workloads.mlp()
        let grads = try m.graph.gradients(of: m.loss, with: m.parameters)
        let step = SGD(learningRate: 0.01).apply(gradients: grads, to: m.parameters, after: [m.loss])
        let (p, r) = try compile([m.loss, step])
        XCTAssertEqual(r.fired("assign-matmul"), 3, p.dump())
        let data = Workloads.mlpData()
        let feeds = [m.input: data.x, m.labels ?? m.input: data.labels]
        var weights: [[[Double]]] = []
        for level in [OptimizationLevel.O0, .O2] {
            let s = try Session(m.graph, options: SessionOptions(level: level))
            _ = try s.run([m.loss, step], feeds: feeds)
            let l1 = try s.run(m.loss, feeds: feeds).doubles[0]
            XCTAssertEqual(l1, Workloads.Reference.mlpLossStep1, accuracy: 1e-5 * Workloads.Reference.mlpLossStep1, "\(level)")
            weights.append(try m.parameters.map { try s.variable($0).doubles })
        }
        for (k, (a, b)) in zip(weights[0], weights[1]).enumerated() {
            let worst = zip(a, b).reduce(0.0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
            XCTAssertLessThanOrEqual(worst, 1e-6, "parameter \(k)")
        }
    }

    func testAssignFormDoesNotFireAcrossAnotherAssignment() throws {
        // v - mm·c reads v; v is bumped before the assign: the assign must use the value read before the bump.
        let g = Graph()
        let v0 = Reference.data([4, 3], seed: 7)
        let v = g.variable("v", value: try host(v0))
        let a = g.placeholder("a", shape: [5, 4]), b = g.placeholder("b", shape: [5, 3])
        let next = v - a.matmul(b, transposeA: true) * 0.25
        let bump = v.assignAdd(g.constant(1.0))
        let upd = g.withControlDependencies([bump]) { v.assign(next) }
        let (p, r) = try compile([g.group([bump, upd])])
        XCTAssertEqual(r.fired("assign-matmul"), 0, p.dump())
        let s = try Session(g)
        _ = try s.run(g.group([bump, upd]), feeds: [a: try host(Reference.data([5, 4], seed: 1)), b: try host(Reference.data([5, 3], seed: 2))])
        let want = expectedUpdate(scale: 0.25)
        for (x, y) in zip(try s.variable(v).doubles, want) { XCTAssertEqual(x, y, accuracy: 1e-6) }
    }

    func testReferenceInterpreterAgreesOnTheW1Step() throws {
        // The rewrite checked by the independent Float64 interpreter (assigns give the new value).
        let m = Workloads.mlp(batch: 4)
        let g = m.graph
        let grads = try g.gradients(of: m.loss, with: m.parameters)
        let updates = zip(m.parameters, grads).map { p, d in p.assignSub(d * 0.01) }
        let data = Workloads.mlpData(batch: 4)
        let (_, r) = try compile(updates)
        XCTAssertEqual(r.fired("assign-matmul"), 3)
        try assertSameValues(updates, feeds: ["x": data.x, "labels": data.labels], rtol: 1e-5, atol: 1e-7)
    }
}
