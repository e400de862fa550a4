import ArgumentParser
import SymGraph

/// `symgraph viz` (not built yet).
struct Viz: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not available yet.")
    func run() throws { throw ToolError("symgraph viz is not available yet") }
}
