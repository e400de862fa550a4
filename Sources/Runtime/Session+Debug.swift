// Debug mode (Theano's DebugMode) and the constant evaluator the optimizer's `fold` pass uses.

/// Evaluates one op on constant inputs with the runtime's own kernels (the optimizer's constant
/// folding, and import-time evaluation of small values in the ONNX importer).
public struct KernelEvaluator: ConstantEvaluator {
    public init() {}

    public func evaluate(_ op: Op, inputs: [HostTensor]) throws -> HostTensor {
        guard !op.hasSideEffects else { throw GraphError.invalidValue("\(op.name) cannot be folded") }
        let g = Graph()
        let args = inputs.map { g.constant($0) }
        let t = g.addNode(op, inputs: args, location: .unknown)
        return try Session(g, options: SessionOptions(level: .O0)).run(t)
    }
}

extension Session {
    /// Debug mode: runs the optimized plan (this session's level) and the naive O0 plan of `fetches`
    /// on the same feeds and returns the first graph node (in program order) whose values differ
    /// beyond `|a − b| ≤ absoluteTolerance + relativeTolerance·|a|`, with its op and creation site;
    /// nil when every node the two plans share agrees.
    ///
    /// Both plans start from the same variable values: variables are restored after the O0 run,
    /// so fetched updates are applied once (by the optimized run).
    public func debugCompare(_ fetches: [Tensor], feeds: [Tensor: HostTensor] = [:],
                             relativeTolerance: Double = 1e-4, absoluteTolerance: Double = 1e-5) throws -> Divergence? {
        // Validates the feeds and fetches exactly as `run` does.
        let (_, byNode) = try plan(fetches, feeds)
        let feedList = byNode.map { ($0.key, $0.value.dtype, $0.value.shape) }
        let compileOptions = CompileOptions(level: options.level, disabledPasses: options.disabledPasses,
                                            evaluator: KernelEvaluator())
        var naiveRan = false
        return try PlanComparison.firstDivergence(
            graph, fetches: fetches.map(\.id), options: compileOptions,
            relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance
        ) { program in
            var all = program
            all.outputs = Array(0..<program.count)
            let level: OptimizationLevel = naiveRan ? options.level : .O0
            let plan = try PlanBuilder.build(all, report: CompileReport(level: level),
                                             context: planContext(level: level, feeds: feedList))
            let tensors = plan.feedNodes.map { byNode[$0] ?? HostTensor(zeros: .float32, shape: []) }
            // Snapshot the variables before the first (naive) run and restore them after it.
            let touched = plan.lockOrder.map(\.0)
            let saved = naiveRan ? [] : touched.map { $0.snapshot() }
            for (slot, write) in plan.lockOrder { if write { slot.lock.lockWrite() } else { slot.lock.lockRead() } }
            defer { for (slot, _) in plan.lockOrder.reversed() { slot.lock.unlock() } }
            let values = try plan.execute(feeds: tensors, runIndex: 0, checkNumerics: false)
            if !naiveRan {
                for (slot, value) in zip(touched, saved) {
                    slot.storage.pointer.copyMemory(from: value.storage.pointer, byteCount: slot.bytes)
                }
                naiveRan = true
            }
            return values.map { Optional($0) }
        }
    }
}
