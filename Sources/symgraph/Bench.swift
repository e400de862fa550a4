import ArgumentParser
import SymGraph

/// `symgraph bench` (not built yet).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not available yet.")
    func run() throws { throw ToolError("symgraph bench is not available yet") }
}
