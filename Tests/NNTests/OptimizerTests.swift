import XCTest
import NN
import Runtime

/// Each optimizer's first two steps against the formulas evaluated here in plain Double arithmetic.
final class OptimizerTests: XCTestCase {
    let p0: [Double] = [0.5, -1.5, 2.0]
    let g1: [Double] = [0.1, -0.2, 0.3]
    let g2: [Double] = [-0.4, 0.5, 0.25]

    /// Applies `opt` with a fed gradient for two steps; returns the parameter after each step.
    func twoSteps(_ opt: any TrainingOptimizer) throws -> (step1: [Double], step2: [Double], opt: any TrainingOptimizer, session: Session) {
        let g = Graph()
        let p = g.variable("p", value: try HostTensor(p0.map { Float($0) }, shape: [3]))
        let grad = g.placeholder("grad", shape: [3])
        let step = opt.apply(gradients: [grad], to: [p])
        let s = try Session(g)
        _ = try s.run([step], feeds: [grad: try HostTensor(g1.map { Float($0) }, shape: [3])])
        let a = try s.variable(p).doubles
        _ = try s.run([step], feeds: [grad: try HostTensor(g2.map { Float($0) }, shape: [3])])
        let b = try s.variable(p).doubles
        return (a, b, opt, s)
    }

    func testSGD() throws {
        let lr = 0.1
        let r = try twoSteps(SGD(learningRate: lr))
        let e1 = (0..<3).map { p0[$0] - lr * g1[$0] }
        let e2 = (0..<3).map { e1[$0] - lr * g2[$0] }
        assertClose(r.step1, e1)
        assertClose(r.step2, e2)
        XCTAssertTrue(r.opt.variables.isEmpty)
    }

    func testSGDWeightDecay() throws {
        let lr = 0.1, wd = 0.5
        let r = try twoSteps(SGD(learningRate: lr, weightDecay: wd))
        let e1 = (0..<3).map { p0[$0] - lr * (g1[$0] + wd * p0[$0]) }
        let e2 = (0..<3).map { e1[$0] - lr * (g2[$0] + wd * e1[$0]) }
        assertClose(r.step1, e1)
        assertClose(r.step2, e2)
    }

    func testMomentum() throws {
        let lr = 0.1, mu = 0.9
        let r = try twoSteps(Momentum(learningRate: lr, momentum: mu))
        let b1 = g1
        let e1 = (0..<3).map { p0[$0] - lr * b1[$0] }
        let b2 = (0..<3).map { mu * b1[$0] + g2[$0] }
        let e2 = (0..<3).map { e1[$0] - lr * b2[$0] }
        assertClose(r.step1, e1)
        assertClose(r.step2, e2)
        XCTAssertEqual(r.opt.variables.count, 1)
        assertClose(try r.session.variable(r.opt.variables[0]).doubles, b2)
    }

    func testNesterov() throws {
        let lr = 0.1, mu = 0.9
        let r = try twoSteps(Momentum(learningRate: lr, momentum: mu, nesterov: true))
        let b1 = g1
        let e1 = (0..<3).map { p0[$0] - lr * (g1[$0] + mu * b1[$0]) }
        let b2 = (0..<3).map { mu * b1[$0] + g2[$0] }
        let e2 = (0..<3).map { e1[$0] - lr * (g2[$0] + mu * b2[$0]) }
        assertClose(r.step1, e1)
        assertClose(r.step2, e2)
    }

    func testRMSProp() throws {
        let lr = 0.01, alpha = 0.9, eps = 1e-8
        let r = try twoSteps(RMSProp(learningRate: lr, alpha: alpha, epsilon: eps))
        let v1 = (0..<3).map { (1 - alpha) * g1[$0] * g1[$0] }
        let e1 = (0..<3).map { p0[$0] - lr * g1[$0] / (v1[$0].squareRoot() + eps) }
        let v2 = (0..<3).map { alpha * v1[$0] + (1 - alpha) * g2[$0] * g2[$0] }
        let e2 = (0..<3).map { e1[$0] - lr * g2[$0] / (v2[$0].squareRoot() + eps) }
        assertClose(r.step1, e1)
        assertClose(r.step2, e2)
    }

    func testRMSPropMomentum() throws {
        let lr = 0.01, alpha = 0.99, eps = 1e-8, mu = 0.5
        let r = try twoSteps(RMSProp(learningRate: lr, alpha: alpha, epsilon: eps, momentum: mu))
        let v1 = (0..<3).map { (1 - alpha) * g1[$0] * g1[$0] }
        let b1 = (0..<3).map { g1[$0] / (v1[$0].squareRoot() + eps) }
        let e1 = (0..<3).map { p0[$0] - lr * b1[$0] }
        let v2 = (0..<3).map { alpha * v1[$0] + (1 - alpha) * g2[$0] * g2[$0] }
        let b2 = (0..<3).map { mu * b1[$0] + g2[$0] / (v2[$0].squareRoot() + eps) }
        let e2 = (0..<3).map { e1[$0] - lr * b2[$0] }
        assertClose(r.step1, e1)
        assertClose(r.step2, e2)
    }

    /// PyTorch's Adam/AdamW step in Double.
    func adamReference(lr: Double, b1: Double, b2: Double, eps: Double, wd: Double, decoupled: Bool) -> ([Double], [Double]) {
        var p = p0, m = [0.0, 0, 0], v = [0.0, 0, 0]
        var out: [[Double]] = []
        for (t, g) in [g1, g2].enumerated() {
            let step = Double(t + 1)
            for i in 0..<3 {
                var gi = g[i]
                if decoupled { p[i] *= 1 - lr * wd } else { gi += wd * p[i] }
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                let mh = m[i] / (1 - pow(b1, step))
                let vh = v[i] / (1 - pow(b2, step))
                p[i] -= lr * mh / (vh.squareRoot() + eps)
            }
            out.append(p)
        }
        return (out[0], out[1])
    }

    func testAdam() throws {
        let r = try twoSteps(Adam(learningRate: 0.1))
        let (e1, e2) = adamReference(lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, decoupled: false)
        assertClose(r.step1, e1)
        assertClose(r.step2, e2)
        // Slots: the step counter and two moments.
        XCTAssertEqual(r.opt.variables.count, 3)
        let step = r.opt.variables.first { $0.name.hasSuffix("step") }
        XCTAssertEqual(try step.map { try r.session.variable($0).scalarValue }, 2)
    }

    func testAdamCoupledWeightDecay() throws {
        let r = try twoSteps(Adam(learningRate: 0.05, beta1: 0.8, beta2: 0.99, weightDecay: 0.3))
        let (e1, e2) = adamReference(lr: 0.05, b1: 0.8, b2: 0.99, eps: 1e-8, wd: 0.3, decoupled: false)
        assertClose(r.step1, e1)
        assertClose(r.step2, e2)
    }

    func testAdamW() throws {
        let r = try twoSteps(AdamW(learningRate: 0.1, weightDecay: 0.2))
        let (e1, e2) = adamReference(lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.2, decoupled: true)
        assertClose(r.step1, e1)
        assertClose(r.step2, e2)
    }

    /// minimize differentiates the loss: SGD on sum((p - c)²) has gradient 2(p - c).
    func testMinimizeOnQuadratic() throws {
        let g = Graph()
        let c: [Double] = [1, 2, 3]
        let p = g.variable("p", value: try HostTensor(p0.map { Float($0) }, shape: [3]))
        let target = g.constant(try HostTensor(c.map { Float($0) }, shape: [3]))
        let loss = ((p - target) * (p - target)).sum()
        let step = try SGD(learningRate: 0.1).minimize(loss, [p])
        let s = try Session(g)
        var ref = p0
        for _ in 0..<2 {
            _ = try s.run([loss, step])
            ref = (0..<3).map { ref[$0] - 0.1 * 2 * (ref[$0] - c[$0]) }
        }
        assertClose(try s.variable(p).doubles, ref)
    }

    /// A mismatched gradient list is a graph error, not a crash.
    func testMismatchedGradientsAreDiagnosed() throws {
        let g = Graph()
        let p = g.variable("p", initializer: .zeros, shape: [2])
        _ = SGD(learningRate: 0.1).apply(gradients: [], to: [p])
        XCTAssertThrowsError(try g.validate()) { e in
            XCTAssertTrue("\(e)".contains("0 gradients for 1 parameters"), "\(e)")
        }
    }

    /// With several parameters, every gradient uses the values from before the step:
    /// loss = (a·b − 3)², so ∂a = 2(ab − 3)·b and ∂b = 2(ab − 3)·a, both from the old a and b.
    func testAllGradientsUseTheOldValues() throws {
        let g = Graph()
        let a = g.variable("a", value: HostTensor(scalar: Float(2)))
        let b = g.variable("b", value: HostTensor(scalar: Float(0.5)))
        let r = a * b - 3
        let step = try SGD(learningRate: 0.1).minimize(r * r, [a, b])
        let s = try Session(g)
        var (ra, rb) = (2.0, 0.5)
        for _ in 0..<2 {
            _ = try s.run([step])
            let e = ra * rb - 3
            (ra, rb) = (ra - 0.1 * 2 * e * rb, rb - 0.1 * 2 * e * ra)
        }
        assertClose([try s.variable(a).scalarValue ?? .nan, try s.variable(b).scalarValue ?? .nan], [ra, rb])
    }
}
