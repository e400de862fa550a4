// The built-in digits models and the training driver behind `symgraph demo` and `symgraph train`.

/// Built-in models for the 8x8 digits.
public enum DigitsModels {
    /// Names accepted by ``model(named:seed:)``.
    public static let names = ["mlp", "cnn"]

    /// MLP 64-128-64-10 with ReLU and dropout 0.1, He-uniform weights.
    public static func mlp(seed: UInt64 = 0) -> Sequential {
        Sequential(seed: seed) {
            Dense(64, 128, activation: .relu, weightInitializer: .heUniform)
            Dropout(0.1)
            Dense(128, 64, activation: .relu, weightInitializer: .heUniform)
            Dense(64, 10)
        }
    }

    /// A small CNN on `[N, 1, 8, 8]`: conv 3×3 (16) → ReLU → max-pool 2 → conv 3×3 (32) → ReLU →
    /// max-pool 2 → flatten (128) → dense 10.
    public static func cnn(seed: UInt64 = 0) -> Sequential {
        Sequential(seed: seed) {
            Conv2D(1, 16, kernel: 3, padding: .same, activation: .relu, weightInitializer: .heUniform)
            MaxPool2D(2)
            Conv2D(16, 32, kernel: 3, padding: .same, activation: .relu, weightInitializer: .heUniform)
            MaxPool2D(2)
            Flatten()
            Dense(128, 10)
        }
    }

    /// The model called `name` and the per-example input shape it expects.
    public static func model(named name: String, seed: UInt64) throws -> (model: Sequential, featureShape: [Int]) {
        switch name {
        case "mlp": return (mlp(seed: seed), [64])
        case "cnn": return (cnn(seed: seed), [1, 8, 8])
        default: throw GraphError.invalidValue("unknown model '\(name)' (choose from: \(names.joined(separator: ", ")))")
        }
    }
}

/// Optimizers by name, for command-line tools.
public enum OptimizerChoice {
    /// Names accepted by ``make(_:learningRate:)``.
    public static let names = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"]

    /// A fresh optimizer (momentum 0.9; the others with PyTorch's defaults).
    public static func make(_ name: String, learningRate: Double) throws -> any TrainingOptimizer {
        switch name {
        case "sgd": return SGD(learningRate: learningRate)
        case "momentum": return Momentum(learningRate: learningRate, momentum: 0.9)
        case "nesterov": return Momentum(learningRate: learningRate, momentum: 0.9, nesterov: true)
        case "rmsprop": return RMSProp(learningRate: learningRate)
        case "adam": return Adam(learningRate: learningRate)
        case "adamw": return AdamW(learningRate: learningRate)
        default: throw GraphError.invalidValue("unknown optimizer '\(name)' (choose from: \(names.joined(separator: ", ")))")
        }
    }
}

/// One epoch's numbers.
public struct EpochRecord: Sendable, Equatable {
    /// One-based epoch number.
    public var epoch: Int
    /// Mean training loss and accuracy over the epoch's batches (training mode).
    public var trainLoss: Double, trainAccuracy: Double
    /// Test loss and accuracy after the epoch (inference mode).
    public var testLoss: Double, testAccuracy: Double

    /// Creates a record.
    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, testLoss: Double, testAccuracy: Double) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
    }

    /// Serialized history (for checkpoint metadata): `epoch,trainLoss,trainAcc,testLoss,testAcc;…`.
    public static func encode(_ h: [EpochRecord]) -> String {
        h.map { "\($0.epoch),\($0.trainLoss),\($0.trainAccuracy),\($0.testLoss),\($0.testAccuracy)" }.joined(separator: ";")
    }

    /// Parses ``encode(_:)``'s text; malformed entries are skipped.
    public static func decode(_ s: String) -> [EpochRecord] {
        s.split(separator: ";").compactMap { item in
            let f = item.split(separator: ",").map { Double(String($0)) }
            guard f.count == 5, let e = f[0], let a = f[1], let b = f[2], let c = f[3], let d = f[4] else { return nil }
            return EpochRecord(epoch: Int(e), trainLoss: a, trainAccuracy: b, testLoss: c, testAccuracy: d)
        }
    }
}

/// Options of a digits training run.
public struct DigitsTrainingOptions: Sendable {
    /// `mlp` or `cnn`.
    public var model = "mlp"
    /// See ``OptimizerChoice``.
    public var optimizer = "adam"
    /// Step size.
    public var learningRate = 0.003
    /// Total epochs (a resumed run continues up to this many).
    public var epochs = 20
    /// Examples per batch.
    public var batchSize = 32
    /// Seed of the weights, dropout and batch order.
    public var seed: UInt64 = 0
    /// Folder for the checkpoint and curves.
    public var outputDirectory = "out/train"
    /// Checkpoint to resume from.
    public var resumeFrom: String?
    /// Creates default options.
    public init() {}
}

/// The result of ``DigitsTraining/run(_:makeSession:log:)``.
public struct DigitsTrainingResult {
    /// The built classifier (graph, model, optimizer).
    public let classifier: Classifier
    /// The session holding the trained values.
    public let session: any GraphSession
    /// Every epoch's numbers, including those of a resumed run's earlier epochs.
    public let history: [EpochRecord]
    /// Final test accuracy (inference mode).
    public let testAccuracy: Double
    /// The checkpoint written at the end.
    public let checkpointPath: String
    /// The loss/accuracy plot written at the end.
    public let curvesPath: String
}

/// Trains a built-in model on the digits split with a progress bar, saves a checkpoint and curves.
public enum DigitsTraining {
    /// Runs the training.
    ///
    /// - Parameters:
    ///   - options: What to train and how.
    ///   - makeSession: Creates a session for a graph (`{ try Session($0) }`).
    ///   - log: Where messages go (default: standard output).
    public static func run(_ options: DigitsTrainingOptions, makeSession: (Graph) throws -> any GraphSession,
                           log: (String) -> Void = { writeLine($0) }) throws -> DigitsTrainingResult {
        guard options.epochs > 0, options.batchSize > 0, options.learningRate > 0, options.learningRate.isFinite else {
            throw GraphError.invalidValue("epochs, batch size and learning rate must be positive")
        }
        let (model, shape) = try DigitsModels.model(named: options.model, seed: options.seed)
        let optimizer = try OptimizerChoice.make(options.optimizer, learningRate: options.learningRate)
        let (train, test) = try Digits.split(asImages: shape.count == 3)
        let clf = try Classifier(model: model, featureShape: shape, optimizer: optimizer, seed: options.seed)
        let session = try makeSession(clf.graph)
        let tag = "\(options.model)-\(options.optimizer)"
        var history: [EpochRecord] = []
        var startEpoch = 0
        if let resume = options.resumeFrom {
            let ckpt = try Checkpoint.read(from: resume)
            for (key, want) in [("model", options.model), ("optimizer", options.optimizer)] {
                if let have = ckpt.metadata[key], have != want {
                    throw GraphError.invalidValue("checkpoint '\(resume)' was made with \(key) '\(have)', not '\(want)'")
                }
            }
            try ckpt.restore(clf.variables, into: session)
            startEpoch = Int(ckpt.metadata["epoch"] ?? "0") ?? 0
            history = EpochRecord.decode(ckpt.metadata["history"] ?? "")
            log("resumed from \(resume) after epoch \(startEpoch)")
        }
        try AtomicFile.makeDirectories(options.outputDirectory)
        let checkpointPath = options.outputDirectory + "/\(options.model).safetensors"
        let curvesPath = options.outputDirectory + "/\(options.model)-curves.svg"
        let params = clf.model.parameters.reduce(0) { $0 + ($1.shape.elementCount ?? 0) }
        log("training \(options.model) (\(params) parameters) with \(options.optimizer), lr \(options.learningRate), batch \(options.batchSize), seed \(options.seed): \(train.count) train / \(test.count) test examples")
        let bar = ProgressBar(epochs: options.epochs)
        var lastAccuracy = history.last?.testAccuracy ?? 0
        if startEpoch >= options.epochs { lastAccuracy = try clf.evaluate(session, on: test).accuracy }
        for epoch in startEpoch..<max(startEpoch, options.epochs) {
            let p = try clf.trainEpoch(session, on: train, batchSize: options.batchSize, seed: options.seed, epoch: epoch) { bar.update($0) }
            let (testLoss, testAcc) = try clf.evaluate(session, on: test)
            lastAccuracy = testAcc
            history.append(EpochRecord(epoch: epoch + 1, trainLoss: p.loss, trainAccuracy: p.accuracy, testLoss: testLoss, testAccuracy: testAcc))
            bar.finish(p, suffix: "  test acc \(formatFixed(testAcc, 4))")
            let meta = ["model": options.model, "optimizer": options.optimizer, "epoch": String(epoch + 1),
                        "seed": String(options.seed), "learning_rate": String(options.learningRate),
                        "batch_size": String(options.batchSize), "history": EpochRecord.encode(history),
                        "format": "SymGraph checkpoint: model variables and optimizer slots"]
            try Checkpoint.save(clf.variables, from: session, to: checkpointPath, metadata: meta)
        }
        try AtomicFile.write(Array(curves(history, title: "\(tag) on digits").utf8), to: curvesPath)
        return DigitsTrainingResult(classifier: clf, session: session, history: history, testAccuracy: lastAccuracy,
                                    checkpointPath: checkpointPath, curvesPath: curvesPath)
    }

    /// Loss and accuracy curves as one SVG (two stacked plots).
    public static func curves(_ history: [EpochRecord], title: String) -> String {
        let e = history.map { Double($0.epoch) }
        let loss = LinePlot(title: "\(title): loss", xLabel: "epoch", yLabel: "loss", series: [
            .init("train", Array(zip(e, history.map(\.trainLoss))), color: "#1f77b4"),
            .init("test", Array(zip(e, history.map(\.testLoss))), color: "#d62728"),
        ])
        let acc = LinePlot(title: "\(title): accuracy", xLabel: "epoch", yLabel: "accuracy", series: [
            .init("train", Array(zip(e, history.map(\.trainAccuracy))), color: "#1f77b4"),
            .init("test", Array(zip(e, history.map(\.testAccuracy))), color: "#d62728"),
        ], yRange: (max(0, (history.map { min($0.trainAccuracy, $0.testAccuracy) }.min() ?? 0) - 0.02), 1))
        let a = loss.svg(), b = acc.svg()
        func body(_ s: String) -> String {
            let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
            return lines.dropFirst().dropLast(2).joined(separator: "\n")
        }
        let w = Int(loss.width), h = Int(loss.height)
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(2 * h)\" font-family=\"sans-serif\" font-size=\"11\">\n"
            + "<g>\n" + body(a) + "\n</g>\n<g transform=\"translate(0 \(h))\">\n" + body(b) + "\n</g>\n</svg>\n"
    }
}
