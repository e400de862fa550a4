import ArgumentParser
import SymGraph

/// `symgraph demo`: trains an MLP and a small CNN on the 8x8 digits, saves checkpoints, graph
/// pictures and training curves.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an MLP and a small CNN on the 8x8 digits (a minute or two), with pictures and checkpoints.")

    @Option(name: .shortAndLong, help: "Folder for the checkpoints, graph pictures and curves.")
    var output: String = "out/demo"

    @Option(help: "Seed of the weights, dropout and batch order.")
    var seed: UInt64 = 0

    @Option(help: "Epochs for the MLP.")
    var mlpEpochs: Int = 30

    @Option(help: "Epochs for the CNN.")
    var cnnEpochs: Int = 20

    func run() throws {
        writeLine("SymGraph demo: the 8x8 handwritten digits (UCI optdigits, Alpaydin & Kaynak 1998, CC BY 4.0)")
        var results: [(String, Double, String)] = []
        for (name, epochs, lr) in [("mlp", mlpEpochs, 0.003), ("cnn", cnnEpochs, 0.003)] {
            writeLine("")
            var o = DigitsTrainingOptions()
            o.model = name
            o.optimizer = "adam"
            o.learningRate = lr
            o.epochs = epochs
            o.batchSize = 32
            o.seed = seed
            o.outputDirectory = output
            let r = try DigitsTraining.run(o, makeSession: { try Session($0) })
            writeLine("\(name): test accuracy \(formatFixed(r.testAccuracy, 4)) on \(Digits.testCount) held-out digits")

            // Reload the checkpoint into a fresh graph and session and check it gives the same accuracy.
            let (model, shape) = try DigitsModels.model(named: name, seed: seed &+ 1)
            let fresh = try Classifier(model: model, featureShape: shape, optimizer: try OptimizerChoice.make("adam", learningRate: lr))
            let session = try Session(fresh.graph)
            try Checkpoint.restore(fresh.variables, into: session, from: r.checkpointPath)
            let (_, test) = try Digits.split(asImages: shape.count == 3)
            let reloaded = try fresh.evaluate(session, on: test).accuracy
            writeLine("\(name): checkpoint \(r.checkpointPath) reloaded into a new session: test accuracy \(formatFixed(reloaded, 4))"
                  + (reloaded == r.testAccuracy ? " (identical)" : " (DIFFERENT)"))

            let graphPath = output + "/\(name)-graph.svg"
            do {
                try r.classifier.graph.writeSVG(to: graphPath, options: DOTOptions(title: "\(name) training graph", collapseDepth: 2))
                writeLine("\(name): training graph drawn in \(graphPath)")
            } catch {
                writeLine("\(name): could not draw the graph (\(error)); skipped")
            }
            results.append((name, r.testAccuracy, r.curvesPath))
        }
        writeLine("")
        writeLine("Results (seed \(seed)):")
        for (name, acc, curves) in results { writeLine("  \(name): test accuracy \(formatFixed(acc, 4)), curves in \(curves)") }
        writeLine("Files are in \(output)/: *.safetensors (checkpoints), *-graph.svg (graphs), *-curves.svg (loss and accuracy).")
    }
}
