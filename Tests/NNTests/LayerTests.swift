import XCTest
import NN
import Runtime

final class LayerTests: XCTestCase {
    func tensor(_ v: [Double], _ shape: [Int]) throws -> HostTensor { try HostTensor(v.map { Float($0) }, shape: shape) }

    func testDenseMatchesReference() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 3])
        let w: [Double] = [0.5, -1, 2, 0.25, -0.5, 1.5]
        let b: [Double] = [0.1, -3]
        let dense = Dense(3, 2, activation: .relu, weightInitializer: .value(try tensor(w, [3, 2])),
                          biasInitializer: .value(try tensor(b, [2])))
        let y = dense(x)
        let xs: [Double] = [1, 2, 3, -1, 0.5, 4]
        let out = try Session(g).run(y, feeds: [x: try tensor(xs, [2, 3])]).doubles
        var ref: [Double] = []
        for r in 0..<2 {
            for c in 0..<2 {
                var s = b[c]
                for k in 0..<3 { s += xs[r * 3 + k] * w[k * 2 + c] }
                ref.append(max(s, 0))
            }
        }
        assertClose(out, ref)
        XCTAssertEqual(dense.parameters.map(\.name), ["dense/w", "dense/b"])
    }

    func testSeededInitializers() throws {
        func weights(_ i: Initializer, seed: UInt64, shape: [Int] = [40, 30]) throws -> [Double] {
            let g = Graph()
            let d = Dense(shape[0], shape[1], weightInitializer: i, seed: seed)
            _ = d(g.placeholder("x", shape: [nil, shape[0]]))
            return try Session(g).variable(d.weight ?? d.parameters[0]).doubles
        }
        for i: Initializer in [.glorotUniform, .glorotNormal, .heUniform, .heNormal] {
            XCTAssertEqual(try weights(i, seed: 1), try weights(i, seed: 1), "\(i) is reproducible")
            XCTAssertNotEqual(try weights(i, seed: 1), try weights(i, seed: 2), "\(i) depends on the seed")
        }
        let gu = try weights(.glorotUniform, seed: 3)
        XCTAssertLessThanOrEqual(gu.map(abs).max() ?? 0, (6.0 / 70).squareRoot())
        let hu = try weights(.heUniform, seed: 3)
        XCTAssertLessThanOrEqual(hu.map(abs).max() ?? 0, (6.0 / 40).squareRoot())
        XCTAssertGreaterThan(hu.map(abs).max() ?? 0, 0.9 * (6.0 / 40).squareRoot())
        let hn = try weights(.heNormal, seed: 3, shape: [50, 200])
        let std = (hn.map { $0 * $0 }.reduce(0, +) / Double(hn.count)).squareRoot()
        XCTAssertEqual(std, (2.0 / 50).squareRoot(), accuracy: 0.01)
        let gn = try weights(.glorotNormal, seed: 3, shape: [50, 200])
        let gstd = (gn.map { $0 * $0 }.reduce(0, +) / Double(gn.count)).squareRoot()
        XCTAssertEqual(gstd, (2.0 / 250).squareRoot(), accuracy: 0.005)
        XCTAssertEqual(try weights(.zeros, seed: 3, shape: [2, 2]), [0, 0, 0, 0])
        XCTAssertEqual(try weights(.ones, seed: 3, shape: [2, 2]), [1, 1, 1, 1])
    }

    func testSequentialNamesAndSharesVariables() throws {
        let g = Graph()
        let model = Sequential {
            Dense(784, 128, activation: .relu)
            Dropout(0.2)
            Dense(128, 10)
        }
        let x = g.placeholder("x", shape: [nil, 784])
        let train = model(x, training: true)
        let eval = model(x, training: false)
        XCTAssertEqual(model.parameters.map(\.name), ["dense1/w", "dense1/b", "dense2/w", "dense2/b"])
        XCTAssertEqual(train.shape, [nil, 10])
        XCTAssertEqual(eval.shape, [nil, 10])
        XCTAssertEqual(g.nodes.filter { if case .variable = $0.op { return true } else { return false } }.count, 4)
        // Children get different seeds, so their weights differ.
        let s = try Session(g)
        XCTAssertNotEqual(try s.variable(model.parameters[0]).doubles.prefix(10), try s.variable(model.parameters[2]).doubles.prefix(10))
        // Inference has no dropout: two runs agree.
        let feed = try HostTensor([Float](repeating: 0.5, count: 784 * 2), shape: [2, 784])
        XCTAssertEqual(try s.run(eval, feeds: [x: feed]), try s.run(eval, feeds: [x: feed]))
        try g.validate()
    }

    func testShapeErrorsAreDiagnosed() {
        let g = Graph()
        let model = Sequential { Dense(5, 3); Dense(4, 2) }
        _ = model(g.placeholder("x", shape: [nil, 5]))
        XCTAssertThrowsError(try g.validate()) { e in XCTAssertTrue("\(e)".contains("dense2"), "\(e)") }
    }

    func testConvPoolFlattenMatchReference() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 1, 4, 4])
        let f: [Double] = (0..<18).map { Double($0 % 5) - 2 }   // [2, 1, 3, 3]
        let conv = Conv2D(1, 2, kernel: 3, padding: .same, weightInitializer: .value(try tensor(f, [2, 1, 3, 3])))
        let model = Sequential { conv; MaxPool2D(2); Flatten() }
        let y = model(x)
        XCTAssertEqual(y.shape, [nil, 8])
        let avg = AvgPool2D(2)(x)
        let xs: [Double] = (0..<16).map { Double($0) * 0.25 - 1 }
        let s = try Session(g)
        let out = try s.run([y, avg], feeds: [x: try tensor(xs, [1, 1, 4, 4])])
        // Reference: same-padded 3×3 cross-correlation, then 2×2 max pooling.
        var convOut = [[Double]](repeating: [Double](repeating: 0, count: 16), count: 2)
        for o in 0..<2 { for i in 0..<4 { for j in 0..<4 {
            var s = 0.0
            for a in 0..<3 { for b in 0..<3 {
                let r = i + a - 1, c = j + b - 1
                if r >= 0, r < 4, c >= 0, c < 4 { s += xs[r * 4 + c] * f[o * 9 + a * 3 + b] }
            } }
            convOut[o][i * 4 + j] = s
        } } }
        var ref: [Double] = []
        for o in 0..<2 { for i in 0..<2 { for j in 0..<2 {
            ref.append([0, 1, 4, 5].map { convOut[o][(2 * i) * 4 + 2 * j + $0] }.max() ?? 0)
        } } }
        assertClose(out[0].doubles, ref)
        var avgRef: [Double] = []
        for i in 0..<2 {
            for j in 0..<2 {
                var sum = 0.0
                for k in [0, 1, 4, 5] { sum += xs[(2 * i) * 4 + 2 * j + k] }
                avgRef.append(sum / 4)
            }
        }
        assertClose(out[1].doubles, avgRef)
    }

    func testDropout() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 1000])
        let d = Dropout(0.25, seed: 3)
        let train = d(x, training: true), eval = d(x, training: false)
        let ones = try HostTensor([Float](repeating: 1, count: 2000), shape: [2, 1000])
        let s = try Session(g)
        XCTAssertEqual(try s.run(eval, feeds: [x: ones]), ones)
        let t = try s.run(train, feeds: [x: ones]).doubles
        XCTAssertTrue(t.allSatisfy { $0 == 0 || abs($0 - 1 / 0.75) < 1e-6 })
        let dropped = Double(t.filter { $0 == 0 }.count) / 2000
        XCTAssertEqual(dropped, 0.25, accuracy: 0.04)
    }

    func testBatchNormTrainingEvalAndUpdates() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 2])
        let bn = BatchNorm(2)
        let yTrain = bn(x, training: true)
        let updates = bn.updates
        let yEval = bn(x, training: false)
        XCTAssertEqual(bn.parameters.map(\.name), ["batchnorm/gamma", "batchnorm/beta"])
        XCTAssertEqual(bn.stateVariables.map(\.name), ["batchnorm/running_mean", "batchnorm/running_var"])
        XCTAssertEqual(updates.count, 2)
        let xs: [Double] = [1, 10, 2, 20, 4, 60]
        let feed = try tensor(xs, [3, 2])
        let s = try Session(g)
        let out = try s.run([yTrain] + updates, feeds: [x: feed])
        var ref = [Double](repeating: 0, count: 6)
        var means: [Double] = [], vars: [Double] = []
        for c in 0..<2 {
            let col = (0..<3).map { xs[$0 * 2 + c] }
            let m = col.reduce(0, +) / 3
            let v = col.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 3
            means.append(m); vars.append(v)
            for r in 0..<3 { ref[r * 2 + c] = (col[r] - m) / (v + 1e-5).squareRoot() }
        }
        assertClose(out[0].doubles, ref, tol: 1e-4)
        let rm = means.map { 0.1 * $0 }, rv = vars.map { 0.9 + 0.1 * $0 }
        assertClose(try s.variable(bn.stateVariables[0]).doubles, rm)
        assertClose(try s.variable(bn.stateVariables[1]).doubles, rv)
        let e = try s.run(yEval, feeds: [x: feed]).doubles
        var eref: [Double] = []
        for i in 0..<6 {
            let c = i % 2
            let d: Double = xs[i] - rm[c]
            eref.append(d / (rv[c] + 1e-5).squareRoot())
        }
        assertClose(e, eref, tol: 1e-4)
    }
}

extension LayerTests {
    /// BatchNorm on NCHW normalizes each channel over batch, height and width.
    func testBatchNormOnImages() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 2, 2, 2])
        let bn = BatchNorm(2)
        let y = bn(x, training: true)
        let xs: [Double] = (0..<16).map { Double(($0 * 7) % 11) - 4 }
        let s = try Session(g)
        let out = try s.run([y] + bn.updates, feeds: [x: try tensor(xs, [2, 2, 2, 2])])[0].doubles
        var ref = [Double](repeating: 0, count: 16)
        for c in 0..<2 {
            var idx: [Int] = []
            for n in 0..<2 { for k in 0..<4 { idx.append(n * 8 + c * 4 + k) } }
            let vals = idx.map { xs[$0] }
            let m = vals.reduce(0, +) / 8
            var v = 0.0
            for t in vals { v += (t - m) * (t - m) }
            v /= 8
            for i in idx { ref[i] = (xs[i] - m) / (v + 1e-5).squareRoot() }
        }
        assertClose(out, ref, tol: 1e-4)
    }
}

final class LossTests: XCTestCase {
    func run(_ t: Tensor) throws -> [Double] { try Session(t.graph).run(t).doubles }

    func testSigmoidCrossEntropyIsStable() throws {
        let g = Graph()
        let xs: [Double] = [-30, -2, 0, 0.5, 3, 30]
        let zs: [Double] = [0, 1, 0.5, 1, 0, 1]
        let x = g.constant(try HostTensor(xs.map { Float($0) }, shape: [6]))
        let z = g.constant(try HostTensor(zs.map { Float($0) }, shape: [6]))
        let per = try run(Loss.sigmoidCrossEntropy(logits: x, labels: z, reduction: .none))
        // Reference: -(z·log σ(x) + (1 − z)·log σ(−x)), with log σ(x) = −log(1 + e^−x) in Double.
        func logSigmoid(_ v: Double) -> Double { -log(1 + exp(-v)) }
        let ref = zip(xs, zs).map { x, z in -(z * logSigmoid(x) + (1 - z) * logSigmoid(-x)) }
        assertClose(per, ref, tol: 1e-5)
        let big = g.constant(try HostTensor([Float(-1e4), 1e4], shape: [2]))
        let zb = g.constant(try HostTensor([Float(1), 0], shape: [2]))
        assertClose(try run(Loss.sigmoidCrossEntropy(logits: big, labels: zb, reduction: .none)), [1e4, 1e4])
        assertClose(try run(Loss.sigmoidCrossEntropy(logits: x, labels: z)), [ref.reduce(0, +) / 6], tol: 1e-5)
    }

    func testSoftmaxCrossEntropyWithIndicesAndProbabilities() throws {
        let g = Graph()
        let ls: [Double] = [1, 2, 3, -1, 0, 5]
        let logits = g.constant(try HostTensor(ls.map { Float($0) }, shape: [2, 3]))
        let labels = g.constant(HostTensor([Int32(2), 0]))
        let probs: [Double] = [0.2, 0.3, 0.5, 1, 0, 0]
        let p = g.constant(try HostTensor(probs.map { Float($0) }, shape: [2, 3]))
        let a = try run(Loss.softmaxCrossEntropy(logits: logits, labels: labels, reduction: .none))
        let b = try run(Loss.softmaxCrossEntropy(logits: logits, probabilities: p, reduction: .none))
        let c = try run(Loss.softmaxCrossEntropy(logits: logits, probabilities: oneHot(labels, depth: 3), reduction: .sum))
        var refA: [Double] = [], refB: [Double] = []
        for r in 0..<2 {
            let row = Array(ls[(r * 3)..<(r * 3 + 3)])
            let lse = log(row.map { exp($0) }.reduce(0, +))
            refA.append(lse - row[r == 0 ? 2 : 0])
            refB.append((0..<3).map { -probs[r * 3 + $0] * (row[$0] - lse) }.reduce(0, +))
        }
        assertClose(a, refA)
        assertClose(b, refB)
        assertClose(c, [refA.reduce(0, +)])
    }

    func testMeanSquaredError() throws {
        let g = Graph()
        let p = g.constant(try HostTensor([Float(1), 2, 3, 4], shape: [2, 2]))
        let t = g.constant(try HostTensor([Float(0), 2, 5, 3], shape: [2, 2]))
        assertClose(try run(Loss.meanSquaredError(p, t)), [(1 + 0 + 4 + 1) / 4])
        assertClose(try run(Loss.meanSquaredError(p, t, reduction: .sum)), [6])
        assertClose(try run(Loss.meanSquaredError(p, t, reduction: .none)), [1, 0, 4, 1])
    }
}
