import ArgumentParser
import SymGraph

/// `symgraph demo`: the README's first command.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Build a small graph, check it and print it (the training demo comes with NN).")

    func run() throws {
        let model = Workloads.mlp()
        try model.graph.validate()
        print("Built the W1 MLP graph (\(model.graph.nodeCount) nodes):")
        print(model.graph.dump())
    }
}
