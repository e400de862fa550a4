import ArgumentParser
import Bench
import SymGraph
#if canImport(Glibc)
import Glibc
#endif

/// `symgraph bench`: the benchmark workloads, naive against compiled, with the machine's limits.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the benchmark workloads (docs/benchmarks.md): naive vs compiled, vs the machine's limits.")

    @Flag(help: "A rough table in about a minute.")
    var quick = false

    @Option(help: "Where to write the JSON results.")
    var output = "bench/results/latest.json"

    @Option(help: "JSON lines from bench/peers/peers.py to print beside SymGraph's numbers.")
    var peers: String?

    @Option(help: ArgumentHelp("Internal: time one W1 compile in this fresh process.", visibility: .hidden))
    var w4Child: Int?

    @Option(help: "Print W1's compiled program, compile report and per-kernel profile at this level (0, 1, 2), then time it against GEMM-only.")
    var profileW1: Int?

    @Option(help: ArgumentHelp("Internal: run this many W1 steps (O2) and print the last loss (for external profilers).", visibility: .hidden))
    var runW1: Int?

    func run() throws {
        if let level = w4Child {
            let (ms, loss) = try BenchSuite.compileW1Once(level: OptimizationLevel(rawValue: level) ?? .O2)
            print(ms, loss)
            return
        }
        if let n = runW1 {
            print(try BenchSuite.runW1(steps: n))
            return
        }
        if let level = profileW1 {
            print(try BenchSuite.profileW1(level: OptimizationLevel(rawValue: level) ?? .O2))
            return
        }
        let exe = CommandLine.arguments.first.flatMap { _ in selfExecutable() }
        let suite = BenchSuite(quick: quick, executable: exe)
        let records = suite.run()
        print("\nSymGraph benchmarks (\(machineDescription().cpu), \(Parallelism.threads) threads)\n")
        print(formatTable(records))
        do {
            try writeResults(records, to: output)
            print("results written to \(output)")
        } catch { print("warning: \(error)") }
        if let peers {
            guard let text = readText(peers) else { throw ToolError("cannot read \(peers)") }
            print("\nSide by side with the peers (same machine, same session)\n")
            print(formatPeerTable(records, parsePeerLines(text)))
        }
        if records.contains(where: { !$0.check }) { throw ExitCode(2) }
    }
}

func selfExecutable() -> String? {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func readText(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}
