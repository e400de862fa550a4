import ArgumentParser
import SymGraph

/// `symgraph train` (not built yet).
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not available yet.")
    func run() throws { throw ToolError("symgraph train is not available yet") }
}
