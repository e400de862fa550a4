import XCTest
import NN
import Runtime

/// docs/training.md's walkthrough, end to end: graph → trained → saved → reloaded.
final class WalkthroughTests: XCTestCase {
    func buildModel() -> (Graph, Tensor, Tensor, Sequential, Tensor, Tensor, Adam, Tensor) {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 64])
        let labels = g.placeholder("labels", shape: [nil], dtype: .int32)
        let model = Sequential(seed: 42) {
            Dense(64, 128, activation: .relu, weightInitializer: .heUniform)
            Dropout(0.1)
            Dense(128, 10)
        }
        let logits = model(x, training: true)
        let evalLogits = model(x, training: false)
        let loss = Loss.softmaxCrossEntropy(logits: logits, labels: labels)
        let accuracy = Loss.accuracy(logits: evalLogits, labels: labels)
        let optimizer = Adam(learningRate: 0.003)
        let step = (try? optimizer.minimize(loss, model.parameters, updates: model.updates)) ?? loss
        return (g, x, labels, model, loss, accuracy, optimizer, step)
    }

    func testGraphToTrainedSavedReloaded() throws {
        let (g, x, labels, model, loss, accuracy, optimizer, step) = buildModel()
        let (train, test) = try Digits.split()
        let session = try Session(g)
        for epoch in 0..<2 {
            for batch in train.batches(size: 32, seed: 42, epoch: epoch) {
                _ = try session.run([loss, step], feeds: [x: batch.features, labels: batch.labels])
            }
        }
        let acc = try session.run(accuracy, feeds: [x: test.all.features, labels: test.all.labels]).scalarValue ?? 0
        XCTAssertGreaterThan(acc, 0.85)

        let path = NSTemporaryDirectory() + "walkthrough-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint.save(model.variables + optimizer.variables, from: session, to: path, metadata: ["epoch": "2"])

        let (g2, x2, labels2, model2, _, accuracy2, optimizer2, _) = buildModel()
        let session2 = try Session(g2)
        let metadata = try Checkpoint.restore(model2.variables + optimizer2.variables, into: session2, from: path)
        XCTAssertEqual(metadata["epoch"], "2")
        let acc2 = try session2.run(accuracy2, feeds: [x2: test.all.features, labels2: test.all.labels]).scalarValue
        XCTAssertEqual(acc2, acc)
    }
}
