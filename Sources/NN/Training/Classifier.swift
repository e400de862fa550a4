// A ready-made classification training harness: graph, loss, metrics, step, epochs, evaluation.

/// A classifier built around a layer: its training and inference graphs share the layer's variables.
///
/// ```swift
/// let clf = try Classifier(model: Sequential { Dense(64, 32, activation: .relu); Dense(32, 10) },
///                          featureShape: [64], optimizer: Adam(learningRate: 0.01))
/// let session = try Session(clf.graph)
/// for epoch in 0..<10 { _ = try clf.trainEpoch(session, on: train, batchSize: 32, seed: 0, epoch: epoch) }
/// let (loss, accuracy) = try clf.evaluate(session, on: test)
/// ```
public final class Classifier {
    /// The graph holding everything.
    public let graph: Graph
    /// The model.
    public let model: any Layer
    /// The optimizer.
    public let optimizer: any TrainingOptimizer
    /// Input placeholder `[nil] + featureShape`.
    public let input: Tensor
    /// Label placeholder `[nil]`, int32.
    public let labels: Tensor
    /// Training-mode logits (dropout on, batch statistics).
    public let trainLogits: Tensor
    /// Mean softmax cross-entropy of the training-mode logits.
    public let trainLoss: Tensor
    /// Batch accuracy of the training-mode logits.
    public let trainAccuracy: Tensor
    /// Inference-mode logits.
    public let logits: Tensor
    /// Mean softmax cross-entropy of the inference-mode logits.
    public let loss: Tensor
    /// Accuracy of the inference-mode logits.
    public let accuracy: Tensor
    /// Fetch to run one training step (optimizer updates and the model's updates).
    public let trainStep: Tensor

    /// Every variable worth saving: the model's (parameters and state) and the optimizer's slots.
    public var variables: [Tensor] { model.variables + optimizer.variables }

    /// Builds the graph.
    ///
    /// - Parameters:
    ///   - model: The layer mapping `[N] + featureShape` inputs to `[N, classes]` logits.
    ///   - featureShape: The shape of one example.
    ///   - optimizer: How to train.
    ///   - seed: Default seed of layers without one.
    ///   - graph: Where to build (default: a new graph).
    public init(model: any Layer, featureShape: [Int], optimizer: any TrainingOptimizer, seed: UInt64 = 0,
                in graph: Graph = Graph(), file: String = #fileID, line: Int = #line) throws {
        self.graph = graph
        self.model = model
        self.optimizer = optimizer
        let x = graph.placeholder("x", shape: Shape([nil] + featureShape.map { Optional($0) }), file: file, line: line)
        let y = graph.placeholder("labels", shape: [nil], dtype: .int32, file: file, line: line)
        // Unscoped, so variables get the model's own names (`dense1/w`), whichever call builds them.
        let tl = model(x, training: true, seed: seed)
        let el = model(x, training: false, seed: seed)
        input = x
        labels = y
        trainLogits = tl
        logits = el
        trainLoss = graph.withScope("train") { Loss.softmaxCrossEntropy(logits: tl, labels: y, file: file, line: line) }
        trainAccuracy = graph.withScope("train") { Loss.accuracy(logits: tl, labels: y, file: file, line: line) }
        loss = graph.withScope("eval") { Loss.softmaxCrossEntropy(logits: el, labels: y, file: file, line: line) }
        accuracy = graph.withScope("eval") { Loss.accuracy(logits: el, labels: y, file: file, line: line) }
        trainStep = try optimizer.minimize(trainLoss, model.parameters, updates: model.updates, file: file, line: line)
        try graph.validate()
    }

    /// Progress within an epoch, reported after each batch.
    public struct Progress: Sendable {
        /// Zero-based epoch.
        public var epoch: Int
        /// Batches done in this epoch, and their total.
        public var batch: Int, batches: Int
        /// Examples done in this epoch.
        public var examples: Int
        /// Running mean training loss and accuracy over this epoch's batches so far (example-weighted).
        public var loss: Double, accuracy: Double
        /// Seconds since the epoch started.
        public var seconds: Double
        /// Creates a progress record.
        public init(epoch: Int, batch: Int, batches: Int, examples: Int, loss: Double, accuracy: Double, seconds: Double) {
            self.epoch = epoch
            self.batch = batch
            self.batches = batches
            self.examples = examples
            self.loss = loss
            self.accuracy = accuracy
            self.seconds = seconds
        }
        /// Examples per second so far.
        public var examplesPerSecond: Double { seconds > 0 ? Double(examples) / seconds : 0 }
    }

    /// Runs one epoch of training (batches shuffled by `seed` and `epoch`) and returns its final progress.
    @discardableResult
    public func trainEpoch(_ session: some GraphSession, on data: Dataset, batchSize: Int, seed: UInt64, epoch: Int,
                           progress: ((Progress) -> Void)? = nil) throws -> Progress {
        let batches = data.batches(size: batchSize, seed: seed, epoch: epoch)
        let clock = ContinuousClock()
        let start = clock.now
        var p = Progress(epoch: epoch, batch: 0, batches: batches.count, examples: 0, loss: 0, accuracy: 0, seconds: 0)
        var lossSum = 0.0, accSum = 0.0
        for b in batches {
            let out = try session.run([trainLoss, trainAccuracy, trainStep], feeds: [input: b.features, labels: b.labels])
            let n = Double(b.count)
            lossSum += (out[0].scalarValue ?? .nan) * n
            accSum += (out[1].scalarValue ?? .nan) * n
            p.batch += 1
            p.examples += b.count
            p.loss = lossSum / Double(p.examples)
            p.accuracy = accSum / Double(p.examples)
            let d = clock.now - start
            p.seconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            progress?(p)
        }
        return p
    }

    /// Inference-mode mean loss and accuracy over `data`, in batches of `batchSize`.
    public func evaluate(_ session: some GraphSession, on data: Dataset, batchSize: Int = 512) throws -> (loss: Double, accuracy: Double) {
        var lossSum = 0.0, accSum = 0.0
        for b in data.batches(size: batchSize, seed: 0, epoch: 0, shuffle: false) {
            let out = try session.run([loss, accuracy], feeds: [input: b.features, labels: b.labels])
            lossSum += (out[0].scalarValue ?? .nan) * Double(b.count)
            accSum += (out[1].scalarValue ?? .nan) * Double(b.count)
        }
        let n = Double(Swift.max(data.count, 1))
        return (lossSum / n, accSum / n)
    }
}
