import ArgumentParser
import Foundation
import SymGraph

/// `symgraph viz`: renders the built-in models, as built and as compiled, to picture files.
struct Viz: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render the built-in models (as built and as compiled) to SVG, PNG or PDF files.",
        discussion: """
        Models: mlp (W1 forward), mlp-train (W1 with gradients and SGD updates), lenet (W3), \
        chain (W5, unrolled --steps times). Each gives NAME-before.EXT and NAME-after.EXT; the \
        compiled picture is captioned with what each optimizer pass did.
        """)

    @Argument(help: "Models to render (default: all): mlp, mlp-train, lenet, chain.")
    var models: [String] = []

    @Option(name: .shortAndLong, help: "Output folder (created if missing).")
    var output: String = "viz"

    @Option(help: "Picture format: svg, png, pdf (or dot for the DOT text).")
    var format: String = "svg"

    @Option(help: "Collapse name scopes deeper than this into one box (0: every top-level scope).")
    var collapseDepth: Int?

    @Option(help: "Most boxes per picture; bigger graphs collapse scopes, then summarize (0: no cap).")
    var maxNodes: Int = DOTOptions.defaultMaxNodes

    @Option(help: "Unroll steps of the chain model (3300 gives about 10,000 nodes).")
    var steps: Int = 3300

    @Option(help: "Optimization level of the compiled pictures: 0, 1 or 2.")
    var level: Int = 2

    func run() throws {
        let fmt = try ImageFormat(parsing: format)
        guard let opt = OptimizationLevel(rawValue: level) else { throw ToolError("--level must be 0, 1 or 2") }
        guard maxNodes >= 0 else { throw ToolError("--max-nodes must be 0 (no cap) or positive") }
        guard steps >= 1 else { throw ToolError("--steps must be at least 1") }
        if let d = collapseDepth, d < 0 { throw ToolError("--collapse-depth must be 0 or more") }
        let chosen = models.isEmpty ? ["mlp", "mlp-train", "lenet", "chain"] : models
        for m in chosen where !["mlp", "mlp-train", "lenet", "chain"].contains(m) {
            throw ToolError("unknown model '\(m)' (mlp, mlp-train, lenet, chain)")
        }
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            throw ToolError("cannot create output folder '\(output)': \(error.localizedDescription)")
        }
        let options = DOTOptions(collapseDepth: collapseDepth, maxNodes: maxNodes == 0 ? nil : maxNodes)
        for name in chosen {
            let (graph, fetches, title) = try Self.model(name, steps: steps)
            var o = options
            o.title = title
            let r = try BeforeAfter.render(graph, fetches: fetches, compileOptions: CompileOptions(level: opt),
                                           directory: output, name: name, format: fmt, options: o)
            func ms(_ s: Double) -> String { "\(Int((s * 1000).rounded())) ms" }
            print("\(name): \(graph.nodeCount) nodes → \(r.beforePath) (\(ms(r.beforeSeconds))), "
                  + "\(r.report.instructionCount) instructions → \(r.afterPath) (\(ms(r.afterSeconds)))")
        }
    }

    /// Builds a model's graph and the nodes its compiled picture fetches.
    static func model(_ name: String, steps: Int) throws -> (Graph, [NodeID], String) {
        switch name {
        case "mlp":
            let m = Workloads.mlp()
            return (m.graph, [m.loss.id], "W1 MLP 784-512-512-10, forward and loss")
        case "mlp-train":
            let m = Workloads.mlp()
            let g = m.graph
            let grads = try g.gradients(of: m.loss, with: m.parameters)
            let step = g.withRole(.update) {
                g.withScope("sgd") {
                    g.group(zip(m.parameters, grads).map { p, d in p.assignSub(d * 0.01) }, name: "train_step")
                }
            }
            return (g, [m.loss.id, step.id], "W1 MLP training step: forward, gradients, SGD updates (lr 0.01)")
        case "lenet":
            let m = Workloads.lenet()
            return (m.graph, [m.loss.id], "W3 LeNet-5, forward and loss")
        default:
            let c = Workloads.unrolledChain(steps: steps)
            return (c.graph, [c.loss.id], "W5 chain x ← sin(x)·0.5 + x unrolled \(steps) times")
        }
    }
}
