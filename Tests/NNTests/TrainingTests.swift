import XCTest
import NN
import Runtime

final class TrainingTests: XCTestCase {
    func makeClassifier(hidden: Int = 32) throws -> Classifier {
        let model = Sequential(seed: 7) {
            Dense(64, hidden)
            BatchNorm(hidden)
            ActivationLayer(.relu)
            Dense(hidden, 10)
        }
        return try Classifier(model: model, featureShape: [64], optimizer: Adam(learningRate: 0.01))
    }

    /// A few epochs on the digits reach a modest test accuracy (deterministic: fixed seeds).
    func testShortRunLearnsDigits() throws {
        let (train, test) = try Digits.split()
        let clf = try makeClassifier()
        let s = try Session(clf.graph)
        let before = try clf.evaluate(s, on: test)
        var last: Classifier.Progress?
        for epoch in 0..<3 { last = try clf.trainEpoch(s, on: train, batchSize: 32, seed: 1, epoch: epoch) }
        let after = try clf.evaluate(s, on: test)
        XCTAssertLessThan(before.accuracy, 0.3)
        XCTAssertGreaterThan(after.accuracy, 0.85, "test accuracy \(after.accuracy)")
        XCTAssertLessThan(after.loss, before.loss)
        XCTAssertEqual(last?.examples, 1437)
        XCTAssertEqual(last?.batches, 45)
    }

    /// Training 2 epochs straight equals training 1, saving, restoring into a new graph and session,
    /// and training 1 more: every variable (weights, batch-norm statistics, Adam slots) bitwise.
    func testResumeFromCheckpointContinuesExactly() throws {
        let (train, _) = try Digits.split()
        let straight = try makeClassifier(hidden: 16)
        let s0 = try Session(straight.graph)
        for epoch in 0..<2 { try straight.trainEpoch(s0, on: train, batchSize: 64, seed: 3, epoch: epoch) }

        let path = NSTemporaryDirectory() + "symgraph-resume-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try makeClassifier(hidden: 16)
        let s1 = try Session(first.graph)
        try first.trainEpoch(s1, on: train, batchSize: 64, seed: 3, epoch: 0)
        try Checkpoint.save(first.variables, from: s1, to: path, metadata: ["epoch": "1"])

        let resumed = try makeClassifier(hidden: 16)
        let s2 = try Session(resumed.graph)
        let meta = try Checkpoint.restore(resumed.variables, into: s2, from: path)
        XCTAssertEqual(meta["epoch"], "1")
        try resumed.trainEpoch(s2, on: train, batchSize: 64, seed: 3, epoch: 1)

        XCTAssertEqual(straight.variables.map(\.name), resumed.variables.map(\.name))
        XCTAssertEqual(straight.variables.count, 6 + 2 + 1 + 12)  // 6 params, 2 running stats, step, 2 Adam slots per param
        for (a, b) in zip(straight.variables, resumed.variables) {
            XCTAssertEqual(try s0.variable(a), try s2.variable(b), a.name)
        }
    }

    /// A frozen layer (left out of the trained parameters) keeps its values.
    func testFreezingALayer() throws {
        let g = Graph()
        let first = Dense(4, 3, activation: .tanh), second = Dense(3, 2)
        let model = Sequential { first; second }
        let x = g.placeholder("x", shape: [nil, 4])
        let y = g.placeholder("y", shape: [nil], dtype: .int32)
        let loss = Loss.softmaxCrossEntropy(logits: model(x, training: true), labels: y)
        let step = try SGD(learningRate: 0.5).minimize(loss, second.parameters)
        let s = try Session(g)
        let w1 = try s.variable(first.parameters[0]), w2 = try s.variable(second.parameters[0])
        _ = try s.run([step], feeds: [x: try HostTensor([Float](repeating: 1, count: 8), shape: [2, 4]), y: HostTensor([Int32(0), 1])])
        XCTAssertEqual(try s.variable(first.parameters[0]), w1)
        XCTAssertNotEqual(try s.variable(second.parameters[0]), w2)
    }
}

final class DriverTests: XCTestCase {
    /// The driver behind `symgraph train`: checkpoint with metadata and history, curves, and resume.
    func testTrainingDriverSavesAndResumes() throws {
        let dir = NSTemporaryDirectory() + "symgraph-driver-\(UUID().uuidString)/nested"
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        var o = DigitsTrainingOptions()
        o.model = "mlp"
        o.epochs = 1
        o.batchSize = 64
        o.outputDirectory = dir
        var lines: [String] = []
        let r1 = try DigitsTraining.run(o, makeSession: { try Session($0) }, log: { lines.append($0) })
        XCTAssertEqual(r1.history.count, 1)
        let c = try Checkpoint.read(from: r1.checkpointPath)
        XCTAssertEqual(c.metadata["epoch"], "1")
        XCTAssertEqual(c.metadata["model"], "mlp")
        XCTAssertEqual(Set(c.tensors.keys), Set(r1.classifier.variables.map(\.name)))
        XCTAssertTrue(c.tensors.keys.contains("adam/step"))
        let svg = try String(contentsOfFile: r1.curvesPath, encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("polyline"))

        o.epochs = 2
        o.resumeFrom = r1.checkpointPath
        let r2 = try DigitsTraining.run(o, makeSession: { try Session($0) }, log: { lines.append($0) })
        XCTAssertEqual(r2.history.map(\.epoch), [1, 2])
        XCTAssertTrue(lines.contains { $0.hasPrefix("resumed from") })
        XCTAssertEqual(try Checkpoint.read(from: r2.checkpointPath).metadata["epoch"], "2")

        // A checkpoint from another optimizer is refused with a clear message.
        o.optimizer = "sgd"
        XCTAssertThrowsError(try DigitsTraining.run(o, makeSession: { try Session($0) }, log: { _ in })) { e in
            XCTAssertTrue("\(e)".contains("optimizer 'adam'"), "\(e)")
        }
        o.optimizer = "adam"
        o.model = "resnet"
        XCTAssertThrowsError(try DigitsTraining.run(o, makeSession: { try Session($0) }, log: { _ in }))
    }

    func testProgressLineAndPlot() {
        let bar = ProgressBar(epochs: 12, isTerminal: false)
        let p = Classifier.Progress(epoch: 2, batch: 5, batches: 10, examples: 160, loss: 0.123456, accuracy: 0.9, seconds: 2)
        XCTAssertEqual(bar.line(p), "epoch  3/12 [############............] loss 0.1235  acc 0.9000  80 ex/s")
        XCTAssertEqual(formatFixed(-0.00004, 4), "0.0000")
        XCTAssertEqual(formatFixed(2.5, 1), "2.5")
        let svg = LinePlot(title: "a < b", xLabel: "x", yLabel: "y", series: [.init("s", [(0, 1), (1, 2)], color: "red")]).svg()
        XCTAssertTrue(svg.contains("a &lt; b"))
        XCTAssertTrue(svg.contains("<polyline"))
    }
}
