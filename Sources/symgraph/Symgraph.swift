import ArgumentParser
import SymGraph

/// The `symgraph` command-line tool. Each subcommand lives in its own file.
@main
struct Symgraph: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "symgraph",
        abstract: "SymGraph: a static symbolic-graph compiler for deep learning.",
        subcommands: [Demo.self, Viz.self, Bench.self, Train.self, Dump.self, RunONNX.self, GradientsONNX.self, ExportONNX.self],
        defaultSubcommand: Demo.self)
}

/// A failure the tool reports as `error: …` with exit code 1.
struct ToolError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
