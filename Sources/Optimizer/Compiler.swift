import Graph
#if canImport(Glibc)
import Glibc
#endif

/// How much the compiler optimizes.
public enum OptimizationLevel: Int, Comparable, Sendable, CaseIterable {
    /// Naive: the pruned graph as built, op by op (the baseline of benchmarks and debug mode).
    case O0 = 0
    /// Cleanups only: constant folding, CSE, simplification, dead-code elimination.
    case O1 = 1
    /// Everything: cleanups, stabilization, specialization, fusion (the default).
    case O2 = 2
    /// Levels order by how much they optimize.
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Evaluates one op on concrete inputs: how the optimizer folds constants without
/// depending on the Runtime (which supplies an implementation backed by its kernels).
public protocol ConstantEvaluator: Sendable {
    /// The value of `op` applied to `inputs`; throws when the op cannot be evaluated.
    func evaluate(_ op: Op, inputs: [HostTensor]) throws -> HostTensor
}

/// Options of one compilation.
///
/// Equality and hashing ignore ``evaluator`` (it does not change what a program means).
public struct CompileOptions: Hashable, Sendable {
    /// The optimization level.
    public var level: OptimizationLevel
    /// Passes (or single rules) turned off by name (see `docs/optimizer.md`).
    public var disabledPasses: Set<String>
    /// Run the program verifier before the first and after every pass (on by default in debug builds).
    public var verify: Bool
    /// Evaluates constant subgraphs for the `fold` pass; without one, nothing is folded.
    public var evaluator: (any ConstantEvaluator)?
    /// The largest result (in elements) constant folding may create.
    public var foldLimit: Int
    /// The most distinct inputs one fused elementwise kernel may read.
    public var maxFusedInputs: Int

    /// Creates options.
    public init(level: OptimizationLevel = .O2, disabledPasses: Set<String> = [], verify: Bool? = nil,
                evaluator: (any ConstantEvaluator)? = nil, foldLimit: Int = 1 << 20, maxFusedInputs: Int = 8) {
        self.level = level
        self.disabledPasses = disabledPasses
        #if DEBUG
        self.verify = verify ?? true
        #else
        self.verify = verify ?? false
        #endif
        self.evaluator = evaluator
        self.foldLimit = foldLimit
        self.maxFusedInputs = maxFusedInputs
    }

    /// Equal when everything but the evaluator's identity is equal.
    public static func == (a: Self, b: Self) -> Bool {
        a.level == b.level && a.disabledPasses == b.disabledPasses && a.verify == b.verify
            && a.foldLimit == b.foldLimit && a.maxFusedInputs == b.maxFusedInputs
            && (a.evaluator == nil) == (b.evaluator == nil)
    }

    /// Hashes everything but the evaluator's identity.
    public func hash(into h: inout Hasher) {
        h.combine(level)
        h.combine(disabledPasses)
        h.combine(verify)
        h.combine(foldLimit)
        h.combine(maxFusedInputs)
        h.combine(evaluator == nil)
    }
}

/// What one pass did.
public struct PassReport: Sendable, CustomStringConvertible {
    /// The pass's name.
    public var name: String
    /// The stage the pass belongs to (`canonicalize`, `stabilize`, `specialize`, `fuse`, `cleanup`).
    public var stage: String
    /// Instructions before the pass's first run.
    public var instructionsBefore: Int
    /// Instructions after its last run.
    public var instructionsAfter: Int
    /// How often each rule fired.
    public var rulesFired: [String: Int]
    /// Time spent in the pass (all runs).
    public var seconds: Double
    /// How many times the pass ran (stages repeat to a fixed point).
    public var runs: Int

    /// Creates a report.
    public init(name: String, stage: String = "", instructionsBefore: Int, instructionsAfter: Int,
                rulesFired: [String: Int] = [:], seconds: Double, runs: Int = 1) {
        self.name = name
        self.stage = stage
        self.instructionsBefore = instructionsBefore
        self.instructionsAfter = instructionsAfter
        self.rulesFired = rulesFired
        self.seconds = seconds
        self.runs = runs
    }

    /// Total rule firings.
    public var totalFired: Int { rulesFired.values.reduce(0, +) }

    /// One line: stage/name, instructions before → after, time, runs and rules fired.
    public var description: String {
        let rules = rulesFired.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
        let ms = (seconds * 1e5).rounded() / 100
        let st = stage.isEmpty ? "" : "\(stage)/"
        return "\(st)\(name): \(instructionsBefore) → \(instructionsAfter) in \(ms) ms" + (runs > 1 ? " (\(runs) runs)" : "")
            + (rules.isEmpty ? "" : " [\(rules)]")
    }
}

/// What a whole compilation did.
public struct CompileReport: Sendable, CustomStringConvertible {
    /// The level compiled at.
    public var level: OptimizationLevel
    /// One entry per pass, in pipeline order (`prune` first).
    public var passes: [PassReport]
    /// Total compile time.
    public var seconds: Double
    /// Instructions in the final program (kernels per run, sources included).
    public var instructionCount: Int
    /// Instructions that launch a kernel per run (not placeholders, variables, constants or groups).
    public var kernelCount: Int

    /// Creates a report.
    public init(level: OptimizationLevel, passes: [PassReport] = [], seconds: Double = 0, instructionCount: Int = 0,
                kernelCount: Int = 0) {
        self.level = level
        self.passes = passes
        self.seconds = seconds
        self.instructionCount = instructionCount
        self.kernelCount = kernelCount
    }

    /// The report of the pass named `name`, if it ran.
    public func pass(_ name: String) -> PassReport? { passes.first { $0.name == name } }

    /// How often a rule fired, summed over all passes.
    public func fired(_ rule: String) -> Int { passes.reduce(0) { $0 + ($1.rulesFired[rule] ?? 0) } }

    /// A header line, then one line per pass.
    public var description: String {
        let ms = (seconds * 1e5).rounded() / 100
        return (["compile report (\(level)): \(instructionCount) instructions, \(kernelCount) kernels, \(ms) ms"]
                + passes.map { "  " + $0.description }).joined(separator: "\n")
    }
}

/// Turns the part of a graph that some fetches need into an optimized ``Program``.
public enum Compiler {
    /// Compiles the subgraph `fetches` need.
    ///
    /// Runs the stages of ``Pipeline`` for `options.level`; each stage repeats its passes
    /// until none changes the program (at most ``Pipeline/stageIterationCap`` times).
    ///
    /// - Throws: ``GraphError`` when the graph has recorded problems, or (with `options.verify`)
    ///   when a pass breaks a program invariant.
    public static func compile(_ graph: Graph, fetches: [NodeID], options: CompileOptions = CompileOptions()) throws
        -> (Program, CompileReport)
    {
        let start = monotonicSeconds()
        try graph.validate()
        let nodeCount = graph.nodeCount
        for f in fetches where f < 0 || f >= nodeCount {
            throw GraphError.invalidValue("cannot compile: fetch \(f) is not a node of this graph (it has \(nodeCount) nodes)")
        }
        var report = CompileReport(level: options.level)
        var program = lower(graph, fetches: fetches)
        report.passes.append(PassReport(name: "prune", stage: "prune", instructionsBefore: graph.nodeCount,
                                        instructionsAfter: program.count, seconds: monotonicSeconds() - start))
        if options.verify { try Verifier.verify(program, after: "prune") }
        try optimize(&program, options: options, report: &report)
        report.instructionCount = program.count
        report.kernelCount = program.kernelCount
        report.seconds = monotonicSeconds() - start
        return (program, report)
    }

    /// Runs the pipeline of `options` on an already lowered program, appending to `report`.
    public static func optimize(_ program: inout Program, options: CompileOptions, report: inout CompileReport) throws {
        for stage in Pipeline.stages(for: options) {
            var entries: [String: Int] = [:]  // pass name -> index in report.passes
            var version = 0                   // bumped whenever a pass changes the program
            var ranAt: [String: Int] = [:]    // the version each pass last left the program in
            for iteration in 0..<Pipeline.stageIterationCap {
                var changed = false
                for pass in stage.passes {
                    // A pass that ran on this very program already has nothing left to do.
                    if ranAt[pass.name] == version { continue }
                    let t0 = monotonicSeconds()
                    let before = program.count
                    let fired = try pass.run(&program)
                    let dt = monotonicSeconds() - t0
                    if options.verify { try Verifier.verify(program, after: pass.name) }
                    if fired.values.contains(where: { $0 > 0 }) { changed = true; version += 1 }
                    ranAt[pass.name] = version
                    if let k = entries[pass.name] {
                        report.passes[k].instructionsAfter = program.count
                        report.passes[k].seconds += dt
                        report.passes[k].runs += 1
                        for (r, n) in fired { report.passes[k].rulesFired[r, default: 0] += n }
                    } else {
                        entries[pass.name] = report.passes.count
                        report.passes.append(PassReport(name: pass.name, stage: stage.name, instructionsBefore: before,
                                                        instructionsAfter: program.count,
                                                        rulesFired: fired.filter { $0.value > 0 }, seconds: dt))
                    }
                }
                if !changed || !stage.repeats || iteration + 1 == Pipeline.stageIterationCap { break }
            }
        }
        for k in report.passes.indices { report.passes[k].rulesFired = report.passes[k].rulesFired.filter { $0.value > 0 } }
    }

    /// The graph nodes `fetches` depend on (data and control), as a program in graph order.
    /// Every fetch must be a node of `graph` (``compile(_:fetches:options:)`` checks it).
    public static func lower(_ graph: Graph, fetches: [NodeID]) -> Program {
        let nodes = graph.nodes
        var needed = [Bool](repeating: false, count: nodes.count)
        var stack = fetches.filter { $0 >= 0 && $0 < nodes.count }
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
        return Program(instructions: instructions, outputs: fetches.map { $0 >= 0 && $0 < nodes.count ? index[$0] : -1 })
    }
}

/// A program transformation.
public protocol Pass: Sendable {
    /// The pass's name (used in reports and to disable it).
    var name: String { get }
    /// Rewrites the program; returns how often each rule fired.
    func run(_ program: inout Program) throws -> [String: Int]
}

/// An ordered group of passes, run together to a fixed point.
public struct Stage: Sendable {
    /// The stage's name (`canonicalize`, `stabilize`, `specialize`, `fuse`, `cleanup`).
    public var name: String
    /// Its passes, in order.
    public var passes: [any Pass]
    /// Whether the stage repeats until no pass changes anything.
    public var repeats: Bool
}

/// The ordered stages of passes for each optimization level.
///
/// canonicalize (O1: fold, cse, simplify, dce) → stabilize (O2) → specialize (O2) →
/// fuse (O2: fuse-update, fuse-linear, fuse-elementwise, fuse-reduce) → cleanup (O1: cse, dce).
public enum Pipeline {
    /// How many times a stage may repeat before the compiler moves on.
    public static let stageIterationCap = 4

    /// The stages run at `options.level`, minus the disabled passes.
    public static func stages(for options: CompileOptions) -> [Stage] {
        let off = options.disabledPasses
        func keep(_ ps: [any Pass]) -> [any Pass] { ps.filter { !off.contains($0.name) } }
        var list: [Stage] = []
        if options.level >= .O1 {
            list.append(Stage(name: "canonicalize", passes: keep([
                RulePass(name: "fold", rules: FoldRules.rules(options), options: options),
                CSEPass(),
                RulePass(name: "simplify", rules: SimplifyRules.all, options: options),
                DeadCodePass(),
            ]), repeats: true))
        }
        if options.level >= .O2 {
            list.append(Stage(name: "stabilize", passes: keep([
                RulePass(name: "stabilize", rules: StabilizeRules.all, options: options),
            ]), repeats: true))
            list.append(Stage(name: "specialize", passes: keep([
                RulePass(name: "specialize", rules: SpecializeRules.all, options: options),
            ]), repeats: true))
            list.append(Stage(name: "fuse", passes: keep([
                UpdateFusionPass(),
                LinearFusionPass(),
                ElementwiseFusionPass(maxInputs: options.maxFusedInputs),
                ReduceFusionPass(),
            ]), repeats: false))
        }
        if options.level >= .O1 {
            list.append(Stage(name: "cleanup", passes: keep([CSEPass(), DeadCodePass()]), repeats: false))
        }
        return list.filter { !$0.passes.isEmpty }
    }

    /// The passes run at `options.level`, minus the disabled ones, in order (stages flattened).
    public static func passes(for options: CompileOptions) -> [any Pass] {
        stages(for: options).flatMap(\.passes)
    }

    /// Every pass name (for `disabledPasses`).
    public static let passNames = ["fold", "cse", "simplify", "dce", "stabilize", "specialize",
                                   "fuse-update", "fuse-linear", "fuse-elementwise", "fuse-reduce"]
}

/// Seconds from an arbitrary start, monotonic.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CPU seconds used by the calling thread (unaffected by other processes competing for the cores).
public func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
