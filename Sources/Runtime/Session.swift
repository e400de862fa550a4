import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Options of a ``Session``.
public struct SessionOptions: Sendable {
    /// How much the compiler optimizes; `.O0` is the naive mode (the program as built, op by op,
    /// every op into its own freshly allocated output).
    public var level: OptimizationLevel = .O2
    /// Optimizer passes turned off by name.
    public var disabledPasses: Set<String> = []
    /// Throw at the first instruction producing a NaN or an infinity, naming its node, op and creation site.
    /// Plans are then compiled without fusion (at most `.O1`), so every op of the graph is checked on its own.
    public var checkNumerics: Bool = false

    /// Creates options.
    public init(level: OptimizationLevel = .O2, disabledPasses: Set<String> = [], checkNumerics: Bool = false) {
        self.level = level
        self.disabledPasses = disabledPasses
        self.checkNumerics = checkNumerics
    }
}

/// A reader-writer lock (pthread).
final class ReadWriteLock: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }
    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }
    func lockRead() { pthread_rwlock_rdlock(lock) }
    func lockWrite() { pthread_rwlock_wrlock(lock) }
    func unlock() { pthread_rwlock_unlock(lock) }
}

/// A variable's value inside a session: fixed storage (updated in place) and its lock.
final class VariableSlot: @unchecked Sendable {
    let node: NodeID
    let dtype: DType
    let shape: [Int]
    let storage: TensorStorage
    let lock = ReadWriteLock()
    init(node: NodeID, value: HostTensor) {
        self.node = node
        dtype = value.dtype
        shape = value.shape
        let bytes = value.count * value.dtype.byteSize
        storage = TensorStorage(uninitializedByteCount: bytes)
        storage.pointer.copyMemory(from: value.storage.pointer, byteCount: bytes)
    }
    var bytes: Int { Strides.product(shape) * dtype.byteSize }
    func snapshot() -> HostTensor {
        let s = TensorStorage(uninitializedByteCount: bytes)
        s.pointer.copyMemory(from: storage.pointer, byteCount: bytes)
        return HostTensor(dtype: dtype, shape: shape, storage: s)
    }
}

/// Runs a ``Graph``: compiles the subgraph each run's fetches need into an execution plan
/// (cached per fetch set, feed set and feed shapes), holds the variables, executes.
///
/// ```swift
/// let session = try Session(graph)
/// let results = try session.run([model.loss, step], feeds: [x: images, labels: ys])
/// print(results[0].scalarValue ?? .nan)
/// ```
///
/// **Threads.** A session may be used from several threads at once. Plans are compiled once per
/// signature and shared; each concurrent run gets its own intermediate memory. **Variables:** every
/// run locks the variables its plan touches, in node-id order: a shared (read) lock on variables it
/// only reads and an exclusive (write) lock on variables its `assign` ops update, held for the whole
/// run. So runs that only read variables proceed in parallel; a run that updates a variable is
/// serialized with every other run that reads or updates that variable, and sees no torn values.
///
/// **Feeds.** Only placeholders can be fed (feeding any other node is refused with an error).
/// Every placeholder the fetches depend on must be fed with its dtype and a shape its static
/// shape accepts. Errors are thrown as ``GraphError/node(_:)`` naming the node and its creation site.
///
/// **Random ops** draw new numbers on every run: element `i` of run `r` is a hash of
/// (`i`, seed, node, `r`), where `r` counts this session's runs, so a session's sequence is reproducible;
/// ``runCount`` and ``setRunCount(_:)`` read and set the counter (exact resume from a checkpoint).
public final class Session: @unchecked Sendable {
    /// The graph this session runs.
    public let graph: Graph
    /// The options it was created with.
    public let options: SessionOptions

    private struct PlanKey: Hashable {
        var fetches: [NodeID]
        var feeds: [FeedSignature]
    }
    private struct FeedSignature: Hashable {
        var node: NodeID
        var dtype: DType
        var shape: [Int]
    }

    private let plans = Locked<[PlanKey: ExecutionPlan]>([:])
    let slots = Locked<[NodeID: VariableSlot]>([:])
    private let runCounter = Atomic<UInt64>(0)
    /// Plans kept at most; past it the cache is cleared (a loop over many distinct shapes).
    private static let maxCachedPlans = 256

    /// Creates a session, checking the graph for recorded problems.
    ///
    /// - Throws: ``GraphError/invalidGraph(_:)`` listing every problem recorded while building.
    public init(_ graph: Graph, options: SessionOptions = SessionOptions()) throws {
        try graph.validate()
        self.graph = graph
        self.options = options
        BLASSetup.once()
    }

    // MARK: Running

    /// Computes `fetches` given `feeds`; fetched `assign` ops update their variables, fetched `group`s run their inputs.
    ///
    /// - Returns: One value per fetch, in order (a fetched `group` gives a float32 scalar 0).
    /// - Throws: ``GraphError`` for a missing or wrong feed, a fetch from another graph, a run-time shape
    ///   mismatch, an out-of-range index, or (with `checkNumerics`) a NaN or infinity.
    public func run(_ fetches: [Tensor], feeds: [Tensor: HostTensor] = [:]) throws -> [HostTensor] {
        let (plan, feedByNode) = try plan(fetches, feeds)
        let tensors = plan.feedNodes.map { feedByNode[$0] ?? HostTensor(zeros: .float32, shape: []) }
        let run = runCounter.wrappingAdd(1, ordering: .relaxed).oldValue
        for (slot, write) in plan.lockOrder { if write { slot.lock.lockWrite() } else { slot.lock.lockRead() } }
        defer { for (slot, _) in plan.lockOrder.reversed() { slot.lock.unlock() } }
        return try plan.execute(feeds: tensors, runIndex: run, checkNumerics: options.checkNumerics)
    }

    /// Computes one fetch.
    public func run(_ fetch: Tensor, feeds: [Tensor: HostTensor] = [:]) throws -> HostTensor {
        let r = try run([fetch], feeds: feeds)
        return r[0]
    }

    /// The optimizer's report for the plan of this fetch/feed signature (compiling it if needed).
    public func compileReport(for fetches: [Tensor], feeds: [Tensor: HostTensor] = [:]) throws -> CompileReport {
        try plan(fetches, feeds).plan.report
    }

    /// Memory statistics of the plan for this fetch/feed signature (compiling it if needed).
    public func planStats(for fetches: [Tensor], feeds: [Tensor: HostTensor] = [:]) throws -> PlanStats {
        try plan(fetches, feeds).plan.stats
    }

    /// Runs `fetches` `runs` times and reports the time of every kernel (summed over the runs), slowest first.
    /// The runs are real runs: fetched updates are applied each time.
    public func profile(_ fetches: [Tensor], feeds: [Tensor: HostTensor] = [:], runs: Int = 10) throws -> ProfileReport {
        let (plan, feedByNode) = try plan(fetches, feeds)
        let tensors = plan.feedNodes.map { feedByNode[$0] ?? HostTensor(zeros: .float32, shape: []) }
        let times = UnsafeMutablePointer<Double>.allocate(capacity: max(plan.steps.count, 1))
        times.initialize(repeating: 0, count: max(plan.steps.count, 1))
        defer { times.deallocate() }
        var total = 0.0
        for _ in 0..<max(runs, 1) {
            let run = runCounter.wrappingAdd(1, ordering: .relaxed).oldValue
            for (slot, write) in plan.lockOrder { if write { slot.lock.lockWrite() } else { slot.lock.lockRead() } }
            defer { for (slot, _) in plan.lockOrder.reversed() { slot.lock.unlock() } }
            let t0 = monotonicSeconds()
            _ = try plan.execute(feeds: tensors, runIndex: run, checkNumerics: false, timings: times)
            total += monotonicSeconds() - t0
        }
        let entries = plan.steps.enumerated().map { n, step -> ProfileReport.Entry in
            let ins = plan.program.instructions[step.instruction]
            return ProfileReport.Entry(name: ins.name, op: ins.op.name, shape: plan.shapes[step.instruction],
                                       seconds: times[n] / Double(max(runs, 1)))
        }
        return ProfileReport(entries: entries.sorted { $0.seconds > $1.seconds }, secondsPerRun: total / Double(max(runs, 1)))
    }

    /// The number of compiled plans in the cache.
    public var cachedPlanCount: Int { plans.withLock { $0.count } }

    // MARK: Run counter (random ops)

    /// The session's run counter: the index the next run will use for its random ops.
    ///
    /// Every `run` whose feeds and fetches are valid takes the current value and adds one (whether or
    /// not its plan has random ops, and even if a kernel later fails); each of `profile`'s runs does the
    /// same. Element `i` of random node `k` in the run with index `r` is a hash of `(i, seed, k, r)`,
    /// so the random numbers of a session are fixed by its graph and this counter.
    ///
    /// **Exact resume.** To continue a training run that uses random ops (dropout, noise) exactly, save
    /// `runCount` with the variables and restore both:
    ///
    /// ```swift
    /// let saved = (session.runCount, try session.variable(w))        // at a checkpoint
    /// // … later, in a new session of the same graph:
    /// try resumed.setVariable(w, to: saved.1)
    /// resumed.setRunCount(saved.0)      // the next run draws what the original's next run drew
    /// ```
    public var runCount: UInt64 { runCounter.load(ordering: .relaxed) }

    /// Sets the run counter (see ``runCount``): the next run uses index `count` for its random ops.
    ///
    /// Runs already in flight on other threads keep the index they took; set the counter when no
    /// other thread is running this session if the sequence must be exact.
    public func setRunCount(_ count: UInt64) {
        runCounter.store(count, ordering: .relaxed)
    }

    // MARK: Variables

    /// The current value of variable `v` (a copy), initializing it first if needed.
    public func variable(_ v: Tensor) throws -> HostTensor {
        let slot = try variableSlot(checkedVariable(v))
        slot.lock.lockRead()
        defer { slot.lock.unlock() }
        return slot.snapshot()
    }

    /// Sets variable `v` to `value` (same dtype and shape).
    public func setVariable(_ v: Tensor, to value: HostTensor) throws {
        let node = try checkedVariable(v)
        let slot = try variableSlot(node)
        guard value.dtype == slot.dtype, value.shape == slot.shape, value.storage.byteCount >= slot.bytes else {
            throw Session.error(graph.node(node), "cannot set a \(slot.dtype)\(slot.shape) variable to a \(value.dtype)\(value.shape) value")
        }
        slot.lock.lockWrite()
        defer { slot.lock.unlock() }
        slot.storage.pointer.copyMemory(from: value.storage.pointer, byteCount: slot.bytes)
    }

    // MARK: Internals

    static func error(_ n: Node, _ message: String) -> GraphError {
        GraphError.node(Diagnostic(nodeName: n.name, op: n.op.name, inputs: [], message: message, location: n.location))
    }

    private func checkedVariable(_ v: Tensor) throws -> NodeID {
        guard v.graph === graph else { throw Session.error(v.node, "belongs to a different graph than this session's") }
        let n = v.node
        guard case .variable = n.op else { throw Session.error(n, "'\(n.name)' is a \(n.op.name), not a variable") }
        return n.id
    }

    /// What the plan builder needs for these feeds.
    func planContext(level: OptimizationLevel, feeds: [(NodeID, DType, [Int])]) -> PlanContext {
        PlanContext(level: level, checkNumerics: options.checkNumerics,
                    feeds: Dictionary(feeds.map { ($0.0, ($0.1, $0.2)) }, uniquingKeysWith: { a, _ in a }),
                    variableSlot: { try self.variableSlot($0) })
    }

    func variableSlot(_ id: NodeID) throws -> VariableSlot {
        let node = graph.node(id)
        return try slots.withLock { s in
            if let slot = s[id] { return slot }
            guard case .variable(let initializer, let seed) = node.op, let shape = node.shape.known else {
                throw Session.error(node, "'\(node.name)' is not a variable with a known shape")
            }
            let value = DeterministicRandom.initialTensor(initializer, shape: shape, dtype: node.dtype, seed: seed)
            guard value.shape == shape, value.dtype == node.dtype, value.storage.byteCount >= value.count * value.dtype.byteSize else {
                throw Session.error(node, "initial value has \(value.dtype)\(value.shape), the variable is \(node.dtype)\(shape)")
            }
            let slot = VariableSlot(node: id, value: value)
            s[id] = slot
            return slot
        }
    }

    func plan(_ fetches: [Tensor], _ feeds: [Tensor: HostTensor]) throws -> (plan: ExecutionPlan, feeds: [NodeID: HostTensor]) {
        var byNode: [NodeID: HostTensor] = [:]
        var sigs: [FeedSignature] = []
        sigs.reserveCapacity(feeds.count)
        for (t, value) in feeds {
            guard t.graph === graph else { throw Session.error(t.node, "is fed, but belongs to a different graph than this session's") }
            let n = t.node
            guard case .placeholder = n.op else {
                throw Session.error(n, "only placeholders can be fed; '\(n.name)' is a \(n.op.name)")
            }
            guard value.dtype == n.dtype else {
                throw Session.error(n, "fed a \(value.dtype) value, the placeholder is \(n.dtype)")
            }
            guard n.shape.accepts(value.shape) else {
                let why = value.shape.count != n.shape.rank ? "rank \(value.shape.count) instead of \(n.shape.rank)" : "a known dimension differs"
                throw Session.error(n, "fed a value of shape \(value.shape), the placeholder has shape \(n.shape) (\(why))")
            }
            guard value.storage.byteCount >= value.count * value.dtype.byteSize else {
                throw Session.error(n, "fed a value whose storage (\(value.storage.byteCount) bytes) is smaller than its shape \(value.shape) needs")
            }
            byNode[n.id] = value
            sigs.append(FeedSignature(node: n.id, dtype: value.dtype, shape: value.shape))
        }
        for t in fetches where t.graph !== graph {
            throw Session.error(t.node, "is fetched, but belongs to a different graph than this session's")
        }
        sigs.sort { $0.node < $1.node }
        let key = PlanKey(fetches: fetches.map(\.id), feeds: sigs)
        if let p = plans.withLock({ $0[key] }) { return (p, byNode) }

        // Check-numerics compiles without fusion (at most O1) so every user op's result is checked by itself.
        let level = options.checkNumerics ? min(options.level, .O1) : options.level
        let compileOptions = CompileOptions(level: level, disabledPasses: options.disabledPasses,
                                            evaluator: KernelEvaluator())
        let (program, report) = try Compiler.compile(graph, fetches: key.fetches, options: compileOptions)
        let ctx = planContext(level: level, feeds: sigs.map { ($0.node, $0.dtype, $0.shape) })
        let plan = try PlanBuilder.build(program, report: report, context: ctx)
        let kept = plans.withLock { cache -> ExecutionPlan in
            if let existing = cache[key] { return existing }
            if cache.count >= Session.maxCachedPlans { cache.removeAll() }
            cache[key] = plan
            return plan
        }
        return (kept, byNode)
    }
}

/// Per-kernel times of a plan (see ``Session/profile(_:feeds:runs:)``).
public struct ProfileReport: Sendable, CustomStringConvertible {
    /// One kernel's average time per run.
    public struct Entry: Sendable {
        /// The instruction's name.
        public var name: String
        /// Its op.
        public var op: String
        /// Its concrete output shape.
        public var shape: [Int]
        /// Average seconds per run.
        public var seconds: Double
    }
    /// Kernels, slowest first.
    public var entries: [Entry]
    /// Average wall time of one run.
    public var secondsPerRun: Double

    /// One line per kernel, slowest first.
    public var description: String {
        let ms = { (s: Double) in String(Double(Int(s * 1e6)) / 1000) }
        return (["profile: \(ms(secondsPerRun)) ms per run"]
                + entries.map { "  \(ms($0.seconds)) ms  \($0.op) \($0.shape)  \($0.name)" }).joined(separator: "\n")
    }
}
