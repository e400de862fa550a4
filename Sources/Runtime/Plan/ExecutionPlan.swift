#if canImport(Glibc)
import Glibc
#endif

/// One compiled kernel: reads and writes through the run's pointer table.
/// `scratch` is this instruction's private scratch memory; `run` is the session's run counter.
typealias Kernel = (_ p: UnsafeMutablePointer<UnsafeMutableRawPointer>, _ scratch: UnsafeMutableRawPointer, _ run: UInt64) throws -> Void

/// Memory statistics of an execution plan (see `docs/runtime.md`).
public struct PlanStats: Sendable, CustomStringConvertible {
    /// The optimization level the plan was compiled at.
    public var level: OptimizationLevel
    /// Instructions in the compiled program (sources included).
    public var instructionCount: Int
    /// Kernels launched per run.
    public var kernelCount: Int
    /// Bytes of the reusable arena holding intermediates and kernel scratch (0 in the naive mode).
    public var arenaBytes: Int
    /// Bytes of fetched results allocated per run (returned to the caller).
    public var outputBytes: Int
    /// Peak bytes the plan holds during a run: the arena plus fetched results (naive mode: every op's output).
    public var peakBytes: Int
    /// A lower bound of `peakBytes` for this program and these buffer decisions: the largest sum of buffers
    /// (and scratch) live at one instruction, plus fetched results. `peakBytes / liveLowerBound` measures fragmentation.
    public var liveLowerBound: Int
    /// What running every op into its own buffer (no reuse) would take.
    public var naiveBytes: Int
    /// Elementwise ops that write in place into an input that dies there.
    public var inPlaceCount: Int
    /// Ops that are free views of their input (reshape, identity, …).
    public var aliasCount: Int

    /// A one-line summary.
    public var description: String {
        "plan (\(level)): \(instructionCount) instructions, \(kernelCount) kernels, peak \(peakBytes) B "
            + "(arena \(arenaBytes) B + outputs \(outputBytes) B), live-set lower bound \(liveLowerBound) B, "
            + "naive \(naiveBytes) B, \(inPlaceCount) in place, \(aliasCount) aliases"
    }
}

/// Where an instruction's value lives during a run.
enum ValueStorage {
    case arena(Int)
    case feed(Int)
    case variable(Int)
    case constant(TensorStorage)
    case fresh
    case alias(Int)
}

/// One step of a plan.
struct PlanStep {
    var instruction: Int
    var kernel: Kernel?
    var scratchOffset: Int
    var checkNumerics: Bool
    var copyOut: Bool
}

/// Per-run memory, pooled per plan so steady-state runs allocate only their results.
final class RunBuffers: @unchecked Sendable {
    let arena: TensorStorage
    let pointers: UnsafeMutablePointer<UnsafeMutableRawPointer>
    init(arenaBytes: Int, count: Int) {
        arena = TensorStorage(uninitializedByteCount: arenaBytes)
        pointers = .allocate(capacity: max(count, 1))
        pointers.initialize(repeating: arena.pointer, count: max(count, 1))
    }
    deinit { pointers.deallocate() }
}

/// A compiled, shape-resolved, memory-planned program for one run signature.
final class ExecutionPlan: @unchecked Sendable {
    let program: Program
    let report: CompileReport
    let dtypes: [DType]
    let shapes: [[Int]]
    let bytes: [Int]
    let storage: [ValueStorage]
    let steps: [PlanStep]
    let arenaBytes: Int
    /// Placeholder node ids, in the order `run` expects their feeds.
    let feedNodes: [NodeID]
    let variables: [VariableSlot]
    /// Indices into `variables` that assign ops write.
    let written: Set<Int>
    let stats: PlanStats
    /// Variables to lock for a run, ordered by node id (so concurrent runs cannot deadlock), and whether the run writes each.
    let lockOrder: [(slot: VariableSlot, write: Bool)]
    private let pool = Locked<[RunBuffers]>([])

    init(program: Program, report: CompileReport, dtypes: [DType], shapes: [[Int]], bytes: [Int], storage: [ValueStorage],
         steps: [PlanStep], arenaBytes: Int, feedNodes: [NodeID], variables: [VariableSlot], written: Set<Int>, stats: PlanStats) {
        self.program = program; self.report = report; self.dtypes = dtypes; self.shapes = shapes; self.bytes = bytes
        self.storage = storage; self.steps = steps; self.arenaBytes = arenaBytes; self.feedNodes = feedNodes
        self.variables = variables; self.written = written; self.stats = stats
        lockOrder = variables.indices.sorted { variables[$0].node < variables[$1].node }
            .map { (variables[$0], written.contains($0)) }
    }

    /// The error for instruction `i`, naming its node, op, concrete inputs and creation site.
    func diagnostic(_ i: Int, _ message: String) -> GraphError {
        ExecutionPlan.diagnostic(program, i, shapes: shapes, dtypes: dtypes, message)
    }

    static func diagnostic(_ program: Program, _ i: Int, shapes: [[Int]]?, dtypes: [DType]?, _ message: String) -> GraphError {
        let ins = program.instructions[i]
        let inputs = ins.inputs.map { k -> String in
            let name = program.instructions[k].name
            if let shapes, let dtypes, k < shapes.count { return "\(name): \(dtypes[k].shortName)\(shapes[k])" }
            return "\(name): \(program.instructions[k].dtype.shortName)\(program.instructions[k].shape)"
        }
        return GraphError.node(Diagnostic(nodeName: ins.name, op: ins.op.name, inputs: inputs, message: message,
                                          location: ins.location))
    }

    /// Runs the plan. Variables must already be locked by the caller.
    func execute(feeds: [HostTensor], runIndex: UInt64, checkNumerics: Bool,
                 timings: UnsafeMutablePointer<Double>? = nil) throws -> [HostTensor] {
        let buffers = pool.withLock { $0.popLast() } ?? RunBuffers(arenaBytes: arenaBytes, count: storage.count)
        defer { pool.withLock { $0.append(buffers) } }
        let p = buffers.pointers
        let base = buffers.arena.pointer
        var fresh = [TensorStorage?](repeating: nil, count: storage.count)
        for i in 0..<storage.count {
            switch storage[i] {
            case .arena(let off): p[i] = base + off
            case .feed(let k): p[i] = feeds[k].storage.pointer
            case .variable(let k): p[i] = variables[k].storage.pointer
            case .constant(let s): p[i] = s.pointer
            case .alias(let r): p[i] = p[r]
            case .fresh:
                let s = TensorStorage(uninitializedByteCount: bytes[i])
                fresh[i] = s
                p[i] = s.pointer
            }
        }
        for (n, step) in steps.enumerated() {
            let i = step.instruction
            let t0 = timings == nil ? 0 : monotonicSeconds()
            if let k = step.kernel {
                do {
                    try k(p, base + step.scratchOffset, runIndex)
                } catch let f as KernelFailure {
                    throw diagnostic(i, f.message)
                }
            }
            if let timings { timings[n] += monotonicSeconds() - t0 }
            if checkNumerics && step.checkNumerics, let bad = ExecutionPlan.firstNonFinite(p[i], dtype: dtypes[i], count: bytes[i] / dtypes[i].byteSize) {
                throw diagnostic(i, "check-numerics: produced \(bad) (first non-finite value)")
            }
            if step.copyOut {
                let s = TensorStorage(uninitializedByteCount: bytes[i])
                s.pointer.copyMemory(from: p[i], byteCount: bytes[i])
                fresh[i] = s
            }
        }
        return program.outputs.map { o in
            HostTensor(dtype: dtypes[o], shape: shapes[o], storage: fresh[o] ?? TensorStorage(byteCount: bytes[o]))
        }
    }

    static func firstNonFinite(_ p: UnsafeMutableRawPointer, dtype: DType, count: Int) -> String? {
        switch dtype {
        case .float32:
            let x = p.assumingMemoryBound(to: Float.self)
            for j in 0..<count where !x[j].isFinite { return x[j].isNaN ? "NaN" : "\(x[j])" }
        case .float64:
            let x = p.assumingMemoryBound(to: Double.self)
            for j in 0..<count where !x[j].isFinite { return x[j].isNaN ? "NaN" : "\(x[j])" }
        default: break
        }
        return nil
    }
}
