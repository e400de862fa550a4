import Testing
import Runtime
import NN
#if canImport(Glibc)
import Glibc
#endif

private func relativeError(_ a: Double, _ b: Double) -> Double { Swift.abs(a - b) / Swift.max(Swift.abs(b), 1e-12) }

/// One SGD step `p ← p − 0.01·dL/dp` of a workload model; returns the losses before and after.
private func sgdStep(_ m: Workloads.Model, x: HostTensor, labels: HostTensor) throws -> (Double, Double) {
    let g = m.graph
    let y = try #require(m.labels)
    let grads = try g.gradients(of: m.loss, with: m.parameters)
    let step = g.group(zip(m.parameters, grads).map { p, dp in p.assignSub(dp * 0.01) })
    let session = try Session(g)
    let feeds = [m.input: x, y: labels]
    let l0 = try #require(try session.run(m.loss, feeds: feeds).scalarValue)
    _ = try session.run(step, feeds: feeds)
    let l1 = try #require(try session.run(m.loss, feeds: feeds).scalarValue)
    return (l0, l1)
}

@Suite struct TrainingStepTests {
    @Test func mlpOneSGDStepReachesTheReferenceLoss() throws {
        let (x, y) = Workloads.mlpData()
        let (l0, l1) = try sgdStep(Workloads.mlp(), x: x, labels: y)
        #expect(relativeError(l0, Workloads.Reference.mlpLossStep0) < 1e-5, "step 0: \(l0)")
        #expect(relativeError(l1, Workloads.Reference.mlpLossStep1) < 1e-5, "step 1: \(l1)")
    }

    @Test func lenetOneSGDStepReachesTheReferenceLoss() throws {
        let (x, y) = Workloads.lenetData()
        let (l0, l1) = try sgdStep(Workloads.lenet(), x: x, labels: y)
        // The LeNet reference was measured in float32 (7 significant digits); 1e-5 relative holds.
        #expect(relativeError(l0, Workloads.Reference.lenetLossStep0) < 1e-5, "step 0: \(l0)")
        #expect(relativeError(l1, Workloads.Reference.lenetLossStep1) < 1e-5, "step 1: \(l1)")
    }
}

@Suite struct GradientValueTests {
    let xs: [Double] = [0.3, -1.2, 0.7, 2.0]
    let vs: [Double] = [1.0, 0.5, -2.0, 0.25]

    @Test func hessianVectorProductMatchesTheAnalyticValue() throws {
        // f(x) = Σ x³ + (Σ x)²  ⇒  H v = 6 x ⊙ v + 2 (Σ v) 1
        let g = Graph()
        let x = g.placeholder("x", shape: [4], dtype: .float64)
        let v = g.placeholder("v", shape: [4], dtype: .float64)
        let f = (x * x * x).sum() + square(x.sum())
        let hv = try g.hessianVectorProduct(of: f, with: x, vector: v)
        let out = try Session(g).run(hv, feeds: [x: HostTensor(xs), v: HostTensor(vs)]).doubles
        let sv = vs.reduce(0, +)
        for i in 0..<4 {
            #expect(Swift.abs(out[i] - (6 * xs[i] * vs[i] + 2 * sv)) < 1e-12, "element \(i): \(out[i])")
        }
    }

    @Test func hessianVectorProductOfAQuadraticForm() throws {
        // f(x) = ½ x A xᵀ (x a row vector)  ⇒  H v = ½ (A + Aᵀ) v
        let a: [Double] = [2, 1, 0, -1, 3, 0.5, 4, 0, 1]
        let g = Graph()
        let x = g.placeholder("x", shape: [1, 3], dtype: .float64)
        let v = g.placeholder("v", shape: [1, 3], dtype: .float64)
        let am = g.constant(try HostTensor(a, shape: [3, 3]))
        let f = x.matmul(am).matmul(x, transposeB: true).sum() * 0.5
        let hv = try g.hessianVectorProduct(of: f, with: x, vector: v)
        let vv: [Double] = [1, -2, 0.5]
        let out = try Session(g).run(hv, feeds: [x: try HostTensor([0.1, 0.2, 0.3], shape: [1, 3]), v: try HostTensor(vv, shape: [1, 3])]).doubles
        for i in 0..<3 {
            var e = 0.0
            for j in 0..<3 { e += 0.5 * (a[i * 3 + j] + a[j * 3 + i]) * vv[j] }
            #expect(Swift.abs(out[i] - e) < 1e-12, "element \(i): \(out[i]) vs \(e)")
        }
    }

    @Test func twoLossesAreSummed() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [4], dtype: .float64)
        let grads = try g.gradients(of: [(x * x).sum(), sin(x).sum()], with: [x])
        let out = try Session(g).run(grads[0], feeds: [x: HostTensor(xs)]).doubles
        for i in 0..<4 { #expect(Swift.abs(out[i] - (2 * xs[i] + Glibc.cos(xs[i]))) < 1e-12) }
    }

    @Test func severalPathsAreSummed() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [4], dtype: .float64)
        let h = x * 3
        let f = (h * x + h.stopGradient() * x).sum()   // d/dx = 6x + 3x
        let out = try Session(g).run(try g.gradients(of: f, with: [x])[0], feeds: [x: HostTensor(xs)]).doubles
        for i in 0..<4 { #expect(Swift.abs(out[i] - 9 * xs[i]) < 1e-12) }
    }

    @Test func vectorJacobianProduct() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [4], dtype: .float64)
        let c = g.placeholder("c", shape: [4], dtype: .float64)
        let out = try Session(g).run(try g.gradients(of: exp(x), with: [x], cotangent: c)[0],
                                     feeds: [x: HostTensor(xs), c: HostTensor(vs)]).doubles
        for i in 0..<4 { #expect(Swift.abs(out[i] - Glibc.exp(xs[i]) * vs[i]) < 1e-12) }
    }

    @Test func disconnectedZerosAreZeros() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [4], dtype: .float64)
        let u = g.placeholder("u", shape: [nil, 2], dtype: .float64)
        let grads = try g.gradients(of: x.sum(), with: [u], disconnected: .zeros)
        let out = try Session(g).run(grads[0], feeds: [x: HostTensor(xs), u: HostTensor(zeros: .float64, shape: [3, 2])])
        #expect(out.shape == [3, 2])
        #expect(out.doubles.allSatisfy { $0 == 0 })
    }

    @Test func castBetweenFloatTypesPassesTheGradient() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [4], dtype: .float64)
        let f = (x.cast(to: .float32) * 3).sum()
        let gx = try g.gradients(of: f, with: [x])[0]
        #expect(gx.dtype == .float64)
        let out = try Session(g).run(gx, feeds: [x: HostTensor(xs)]).doubles
        #expect(out == [3, 3, 3, 3])
    }

    @Test func stopGradientIsZero() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [4], dtype: .float64)
        let out = try Session(g).run(try g.gradients(of: (x * x.stopGradient()).sum(), with: [x])[0], feeds: [x: HostTensor(xs)]).doubles
        #expect(out == xs)
    }

    @Test func reluAbsAndMaximumAtTheirKinks() throws {
        // relu'(0) = 0, abs'(0) = 0; maximum/minimum ties go to the first argument.
        let g = Graph()
        let x = g.placeholder("x", shape: [3], dtype: .float64)
        let y = g.placeholder("y", shape: [3], dtype: .float64)
        let grads = try g.gradients(of: [relu(x).sum(), abs(x).sum(), maximum(x, y).sum(), minimum(x, y).sum() * 10], with: [x, y])
        for level in [OptimizationLevel.O0, .O2] {
            let session = try Session(g, options: SessionOptions(level: level))
            let out = try session.run(grads, feeds: [x: HostTensor([0.0, 1, -1]), y: HostTensor([0.0, 1, 2])]).map(\.doubles)
            // x: relu' + abs' + max' + 10 min'  at (0 tie), (1 tie), (-1 < 2)
            let expectedX: [Double] = [11, 13, 9]   // (0 + 0 + 1 + 10), (1 + 1 + 1 + 10), (0 - 1 + 0 + 10)
            #expect(out[0] == expectedX, "\(level)")
            #expect(out[1] == [0, 0, 1], "\(level)")
        }
    }

    @Test func dropoutGradientUsesTheSameMask() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [64], dtype: .float32)
        let c = g.placeholder("c", shape: [64], dtype: .float32)
        let y = dropout(x, rate: 0.5, training: true, seed: 3)
        let gx = try g.gradients(of: (y * c).sum(), with: [x])[0]
        let xv = (0..<64).map { Float($0 % 7) + 1 }, cv = (0..<64).map { Float($0 % 5) - 2.5 }
        let out = try Session(g).run([y, gx], feeds: [x: HostTensor(xv), c: HostTensor(cv)]).map(\.floats)
        for i in 0..<64 { #expect(Swift.abs(out[1][i] - cv[i] * out[0][i] / xv[i]) < 1e-5) }
        #expect(out[0].contains(0) && out[0].contains { $0 != 0 })
    }

    @Test func checkGradientCatchesAWrongGradient() throws {
        // A function whose gradient is deliberately wrong: x·stopGradient(x) differentiates to x, not 2x.
        let err = try checkGradient({ _, t in t[0] * t[0].stopGradient() }, at: [HostTensor(xs)])
        #expect(err > 0.1)
    }
}
