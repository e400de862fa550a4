import ArgumentParser
import SymGraph

/// `symgraph dump MODEL`: prints a built-in model's graph as text.
struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a built-in model's graph, one line per node.")

    @Argument(help: "mlp, lenet or chain")
    var model: String = "mlp"

    @Option(help: "Unroll steps of the chain model.")
    var steps: Int = 10

    func run() throws {
        let g: Graph
        switch model {
        case "mlp": g = Workloads.mlp().graph
        case "lenet": g = Workloads.lenet().graph
        case "chain": g = Workloads.unrolledChain(steps: steps).graph
        default: throw ToolError("unknown model '\(model)' (mlp, lenet, chain)")
        }
        try g.validate()
        print(g.dump())
    }
}
