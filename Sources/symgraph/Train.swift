import ArgumentParser
import SymGraph

/// `symgraph train`: trains a built-in model on the 8x8 digits.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a built-in model (mlp, cnn) on the 8x8 digits; save a checkpoint and curves.",
        discussion: "Checkpoints are safetensors files holding the model's variables and the optimizer's slots, saved after every epoch; --resume continues from one where the run left off (bit for bit for models without dropout; dropout masks restart with a new session).")

    @Argument(help: "The model: mlp or cnn.")
    var model: String = "mlp"

    @Option(help: "sgd, momentum, nesterov, rmsprop, adam or adamw.")
    var optimizer: String = "adam"

    @Option(name: [.customLong("lr"), .customLong("learning-rate")], help: "Learning rate.")
    var learningRate: Double = 0.003

    @Option(help: "Total number of epochs (a resumed run continues up to this many).")
    var epochs: Int = 20

    @Option(help: "Examples per batch.")
    var batchSize: Int = 32

    @Option(help: "Seed of the weights, dropout and batch order.")
    var seed: UInt64 = 0

    @Option(name: .shortAndLong, help: "Folder for the checkpoint and curves.")
    var output: String = "out/train"

    @Option(help: "A checkpoint written by an earlier run to continue from.")
    var resume: String?

    func validate() throws {
        guard DigitsModels.names.contains(model) else { throw ValidationError("unknown model '\(model)' (mlp, cnn)") }
        guard OptimizerChoice.names.contains(optimizer) else {
            throw ValidationError("unknown optimizer '\(optimizer)' (\(OptimizerChoice.names.joined(separator: ", ")))")
        }
        guard epochs > 0, batchSize > 0, learningRate > 0, learningRate.isFinite else {
            throw ValidationError("epochs, batch size and learning rate must be positive")
        }
    }

    func run() throws {
        var o = DigitsTrainingOptions()
        o.model = model
        o.optimizer = optimizer
        o.learningRate = learningRate
        o.epochs = epochs
        o.batchSize = batchSize
        o.seed = seed
        o.outputDirectory = output
        o.resumeFrom = resume
        let r = try DigitsTraining.run(o, makeSession: { try Session($0) })
        writeLine("test accuracy \(formatFixed(r.testAccuracy, 4))")
        writeLine("checkpoint: \(r.checkpointPath)")
        writeLine("curves: \(r.curvesPath)")
    }
}
