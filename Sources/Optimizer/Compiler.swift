import Graph
#if canImport(Glibc)
import Glibc
#endif

/// How much the compiler optimizes.
public enum OptimizationLevel: Int, Comparable, Sendable, CaseIterable {
    /// Naive: the pruned graph as built, op by op (the baseline of benchmarks and debug mode).
    case O0 = 0
    /// Cleanups only: constant folding, CSE, simplification.
    case O1 = 1
    /// Everything: cleanups, stabilization, fusion (the default).
    case O2 = 2
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Options of one compilation.
public struct CompileOptions: Hashable, Sendable {
    /// The optimization level.
    public var level: OptimizationLevel
    /// Passes turned off by name (see `docs/optimizer.md`).
    public var disabledPasses: Set<String>
    /// Run the graph verifier between passes (on by default in debug builds).
    public var verify: Bool

    /// Creates options.
    public init(level: OptimizationLevel = .O2, disabledPasses: Set<String> = [], verify: Bool? = nil) {
        self.level = level
        self.disabledPasses = disabledPasses
        #if DEBUG
        self.verify = verify ?? true
        #else
        self.verify = verify ?? false
        #endif
    }
}

/// What one pass did.
public struct PassReport: Sendable, CustomStringConvertible {
    public var name: String
    public var instructionsBefore: Int
    public var instructionsAfter: Int
    /// How often each rule fired.
    public var rulesFired: [String: Int]
    public var seconds: Double

    public init(name: String, instructionsBefore: Int, instructionsAfter: Int, rulesFired: [String: Int] = [:], seconds: Double) {
        self.name = name
        self.instructionsBefore = instructionsBefore
        self.instructionsAfter = instructionsAfter
        self.rulesFired = rulesFired
        self.seconds = seconds
    }

    public var description: String {
        let rules = rulesFired.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
        let ms = (seconds * 1e5).rounded() / 100
        return "\(name): \(instructionsBefore) → \(instructionsAfter) in \(ms) ms" + (rules.isEmpty ? "" : " [\(rules)]")
    }
}

/// What a whole compilation did.
public struct CompileReport: Sendable, CustomStringConvertible {
    public var level: OptimizationLevel
    public var passes: [PassReport]
    public var seconds: Double
    /// Instructions in the final program (kernels per run, sources included).
    public var instructionCount: Int

    public init(level: OptimizationLevel, passes: [PassReport] = [], seconds: Double = 0, instructionCount: Int = 0) {
        self.level = level
        self.passes = passes
        self.seconds = seconds
        self.instructionCount = instructionCount
    }

    public var description: String {
        let ms = (seconds * 1e5).rounded() / 100
        return (["compile report (\(level)): \(instructionCount) instructions, \(ms) ms"]
                + passes.map { "  " + $0.description }).joined(separator: "\n")
    }
}

/// Turns the part of a graph that some fetches need into an optimized ``Program``.
public enum Compiler {
    /// Compiles the subgraph `fetches` need.
    ///
    /// - Throws: ``GraphError`` when the graph has recorded problems.
    public static func compile(_ graph: Graph, fetches: [NodeID], options: CompileOptions = CompileOptions()) throws
        -> (Program, CompileReport)
    {
        let start = monotonicSeconds()
        try graph.validate()
        var report = CompileReport(level: options.level)
        var program = lower(graph, fetches: fetches)
        report.passes.append(PassReport(name: "prune", instructionsBefore: graph.nodeCount,
                                        instructionsAfter: program.count, seconds: monotonicSeconds() - start))
        for pass in Pipeline.passes(for: options) {
            let t0 = monotonicSeconds()
            let before = program.count
            let fired = try pass.run(&program)
            report.passes.append(PassReport(name: pass.name, instructionsBefore: before, instructionsAfter: program.count,
                                            rulesFired: fired, seconds: monotonicSeconds() - t0))
        }
        report.instructionCount = program.count
        report.seconds = monotonicSeconds() - start
        return (program, report)
    }

    /// The graph nodes `fetches` depend on (data and control), as a program in graph order.
    public static func lower(_ graph: Graph, fetches: [NodeID]) -> Program {
        let nodes = graph.nodes
        var needed = [Bool](repeating: false, count: nodes.count)
        var stack = fetches
        while let id = stack.popLast() {
            if needed[id] { continue }
            needed[id] = true
            stack.append(contentsOf: nodes[id].inputs)
            stack.append(contentsOf: nodes[id].controlInputs)
        }
        var index = [Int](repeating: -1, count: nodes.count)
        var instructions: [Program.Instruction] = []
        for n in nodes where needed[n.id] {
            index[n.id] = instructions.count
            instructions.append(Program.Instruction(
                op: n.op, inputs: n.inputs.map { index[$0] }, controlInputs: n.controlInputs.map { index[$0] },
                dtype: n.dtype, shape: n.shape, name: n.name, location: n.location, origin: n.id, role: n.role))
        }
        return Program(instructions: instructions, outputs: fetches.map { index[$0] })
    }
}

/// A program transformation.
public protocol Pass: Sendable {
    /// The pass's name (used in reports and to disable it).
    var name: String { get }
    /// Rewrites the program; returns how often each rule fired.
    func run(_ program: inout Program) throws -> [String: Int]
}

/// The ordered stages of passes for each optimization level.
public enum Pipeline {
    /// The passes run at `options.level`, minus the disabled ones.
    public static func passes(for options: CompileOptions) -> [any Pass] {
        var list: [any Pass] = []
        if options.level >= .O1 { list += cleanupPasses }
        if options.level >= .O2 { list += optimizingPasses }
        return list.filter { !options.disabledPasses.contains($0.name) }
    }

    /// Stage 1 (O1): canonicalization and cleanups.
    static var cleanupPasses: [any Pass] { [] }
    /// Stages 2–4 (O2): stabilization, specialization, fusion.
    static var optimizingPasses: [any Pass] { [] }
}

/// Seconds from an arbitrary start, monotonic.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
