// Builds an ExecutionPlan from a Program and concrete feed shapes: resolves every shape with
// `Op.infer`, picks each value's storage (views, in-place, arena offsets), and makes the kernels.

/// What the plan builder needs from a session.
struct PlanContext {
    var level: OptimizationLevel
    var checkNumerics: Bool
    /// Concrete dtype and shape of each fed placeholder.
    var feeds: [NodeID: (dtype: DType, shape: [Int])]
    /// The session's slot for a variable node (created and initialized on first use).
    var variableSlot: (NodeID) throws -> VariableSlot
}

enum PlanBuilder {
    /// A shared zero scalar (the value of `group`).
    static let zeroScalar = TensorStorage(byteCount: 8)

    static func isViewOp(_ op: Op) -> Bool {
        switch op {
        case .reshape, .reshapeLike, .identity, .stopGradient, .squeeze, .expandDims: return true
        default: return false
        }
    }

    static func build(_ program: Program, report: CompileReport, context ctx: PlanContext) throws -> ExecutionPlan {
        let ins = program.instructions
        let count = ins.count
        var dtypes = [DType](repeating: .float32, count: count)
        var shapes = [[Int]](repeating: [], count: count)
        func fail(_ i: Int, _ msg: String) -> GraphError {
            ExecutionPlan.diagnostic(program, i, shapes: shapes, dtypes: dtypes, msg)
        }

        // 1. Concrete shapes, with the same inference the builder used.
        var feedNodes: [NodeID] = []
        var feedIndex: [NodeID: Int] = [:]
        var variables: [VariableSlot] = []
        var variableIndex: [NodeID: Int] = [:]
        for (i, x) in ins.enumerated() {
            switch x.op {
            case .placeholder:
                guard let id = x.origin, let f = ctx.feeds[id] else {
                    throw fail(i, "placeholder '\(x.name)' needs a feed: the fetches depend on it")
                }
                guard f.dtype == x.dtype, x.shape.accepts(f.shape) else {
                    throw fail(i, "fed a \(f.dtype) value of shape \(f.shape), the placeholder is \(x.dtype)\(x.shape)")
                }
                dtypes[i] = f.dtype; shapes[i] = f.shape
                if feedIndex[id] == nil { feedIndex[id] = feedNodes.count; feedNodes.append(id) }
            case .variable:
                guard let id = x.origin else { throw fail(i, "variable has no graph node") }
                let slot = try ctx.variableSlot(id)
                dtypes[i] = slot.dtype; shapes[i] = slot.shape
                if variableIndex[id] == nil { variableIndex[id] = variables.count; variables.append(slot) }
            case .constant(let t):
                guard t.storage.byteCount >= t.count * t.dtype.byteSize, t.shape.allSatisfy({ $0 >= 0 }) else {
                    throw fail(i, "constant's storage is smaller than its shape \(t.shape) needs")
                }
                dtypes[i] = t.dtype; shapes[i] = t.shape
            default:
                switch x.op.infer(inputs: x.inputs.map { (dtypes[$0], Shape(known: shapes[$0])) }) {
                case .success(let r):
                    guard let s = r.shape.known else { throw fail(i, "could not resolve the shape \(r.shape) at run time") }
                    guard s.allSatisfy({ $0 >= 0 }) else { throw fail(i, "negative dimension in the run-time shape \(s)") }
                    dtypes[i] = r.dtype; shapes[i] = s
                case .failure(let p):
                    throw fail(i, p.message)
                }
            }
        }
        let bytes = (0..<count).map { Strides.product(shapes[$0]) * dtypes[$0].byteSize }
        let fetched = Set(program.outputs)
        let planned = ctx.level >= .O1

        // 2. Storage kinds. Views alias their input; assign gives its variable; group a shared zero.
        var storage = [ValueStorage](repeating: .fresh, count: count)
        var aliasOf = [Int?](repeating: nil, count: count)
        var written = Set<Int>()
        for (i, x) in ins.enumerated() {
            switch x.op {
            case .placeholder: storage[i] = .feed(feedIndex[x.origin ?? -1] ?? 0)
            case .variable: storage[i] = .variable(variableIndex[x.origin ?? -1] ?? 0)
            case .constant(let t): storage[i] = .constant(t.storage)
            case .group: storage[i] = .constant(zeroScalar)
            case .assign, .assignMatMul:
                let v = x.inputs[0]
                guard case .variable(let k) = storage[v] else {
                    throw fail(i, "only a variable can be assigned to; '\(ins[v].name)' is a \(ins[v].op.name)")
                }
                written.insert(k)
                storage[i] = .alias(v); aliasOf[i] = v
            default:
                if planned && isViewOp(x.op) {
                    aliasOf[i] = x.inputs[0]
                    storage[i] = .alias(x.inputs[0])
                } else if fetched.contains(i) || !planned {
                    storage[i] = .fresh
                } else {
                    storage[i] = .arena(-1)
                }
            }
        }

        // 3. Kernels and scratch needs.
        var kernels = [Kernel?](repeating: nil, count: count)
        var scratch = [Int](repeating: 0, count: count)
        for (i, x) in ins.enumerated() {
            if x.op.isSource { continue }
            var isAssign = false
            if x.op.isAssignment { isAssign = true }
            if aliasOf[i] != nil && !isAssign { continue }
            if case .group = x.op { continue }
            let made = try KernelFactory.make(x.op, inputs: x.inputs, output: i, dtypes: dtypes, shapes: shapes,
                                              origin: x.origin ?? i, fail: { fail(i, $0) })
            kernels[i] = made.kernel
            scratch[i] = made.scratchBytes
        }

        // 4. Liveness over buffers (views share their root's buffer), in-place reuse, arena offsets.
        var lastUse = Array(0..<count)
        for (i, x) in ins.enumerated() { for v in x.inputs { lastUse[v] = max(lastUse[v], i) } }
        for o in program.outputs { lastUse[o] = count }  // fetched values live to the end
        var extended = lastUse
        for i in stride(from: count - 1, through: 0, by: -1) { if let a = aliasOf[i] { extended[a] = max(extended[a], extended[i]) } }
        var root = Array(0..<count)
        var rootLast = extended
        var offset = [Int](repeating: 0, count: count)
        var scratchOffset = [Int](repeating: 0, count: count)
        var allocator = ArenaAllocator()
        var dying: [Int: [Int]] = [:]
        var live = 0, liveMax = 0, inPlace = 0, aliases = 0
        func isArena(_ r: Int) -> Bool { if case .arena = storage[r] { return true } else { return false } }
        for (i, x) in ins.enumerated() {
            if let a = aliasOf[i] {
                root[i] = root[a]
                aliases += 1
                rootLast[root[i]] = max(rootLast[root[i]], extended[i])
                dying[rootLast[root[i]], default: []].append(root[i])
            } else if isArena(i) {
                var reused: Int? = nil
                switch x.op {
                case .unary, .binary, .fused:
                    for u in x.inputs {
                        let r = root[u]
                        if isArena(r), rootLast[r] == i, bytes[r] == bytes[i], dtypes[u] == dtypes[i], shapes[u] == shapes[i] {
                            reused = r; break
                        }
                    }
                default: break
                }
                if let r = reused {
                    root[i] = r
                    rootLast[r] = extended[i]
                    dying[rootLast[r], default: []].append(r)
                    inPlace += 1
                } else {
                    offset[i] = allocator.allocate(bytes[i])
                    live += ArenaAllocator.rounded(bytes[i])
                    dying[extended[i], default: []].append(i)
                }
            }
            if scratch[i] > 0 {
                scratchOffset[i] = allocator.allocate(scratch[i])
                liveMax = max(liveMax, live + ArenaAllocator.rounded(scratch[i]))
                allocator.release(offset: scratchOffset[i], bytes: scratch[i])
            }
            liveMax = max(liveMax, live)
            if let ds = dying[i] {
                var seen = Set<Int>()
                for r in ds where rootLast[r] == i && root[r] == r && isArena(r) && !seen.contains(r) {
                    seen.insert(r)
                    allocator.release(offset: offset[r], bytes: bytes[r])
                    live -= ArenaAllocator.rounded(bytes[r])
                }
                dying[i] = nil
            }
        }
        // Resolve storage through roots.
        for i in 0..<count {
            if isArena(root[i]) {
                storage[i] = .arena(offset[root[i]])
            } else if root[i] != i {
                storage[i] = .alias(root[i])
            }
        }

        // 5. Steps.
        var steps: [PlanStep] = []
        for (i, x) in ins.enumerated() {
            let copyOut: Bool
            if fetched.contains(i) {
                if case .fresh = storage[i] { copyOut = false } else { copyOut = true }
            } else { copyOut = false }
            if kernels[i] == nil && !copyOut { continue }
            let numeric: Bool
            switch x.op {
            case .assign, .assignMatMul: numeric = true
            default: numeric = kernels[i] != nil && dtypes[i].isFloatingPoint
            }
            steps.append(PlanStep(instruction: i, kernel: kernels[i], scratchOffset: scratchOffset[i],
                                  checkNumerics: numeric && dtypes[i].isFloatingPoint, copyOut: copyOut))
        }

        let outputBytes = Set(program.outputs).reduce(0) { $0 + bytes[$1] }
        let naive = (0..<count).filter { !ins[$0].op.isSource }.reduce(0) { $0 + bytes[$1] }
            + (0..<count).reduce(0) { $0 + scratch[$1] }
        let arena = planned ? allocator.peak : (0..<count).reduce(0) { max($0, scratch[$1]) }
        let peak = planned ? arena + outputBytes : naive
        let stats = PlanStats(level: ctx.level, instructionCount: count, kernelCount: steps.filter { $0.kernel != nil }.count,
                              arenaBytes: arena, outputBytes: outputBytes, peakBytes: peak,
                              liveLowerBound: planned ? liveMax + outputBytes : peak, naiveBytes: naive,
                              inPlaceCount: inPlace, aliasCount: aliases)
        if !planned {
            // Naive mode: scratch lives at offset 0 of a small arena sized for the largest need.
            for k in steps.indices { steps[k].scratchOffset = 0 }
        }
        return ExecutionPlan(program: program, report: report, dtypes: dtypes, shapes: shapes, bytes: bytes, storage: storage,
                             steps: steps, arenaBytes: arena, feedNodes: feedNodes, variables: variables, written: written,
                             stats: stats)
    }
}
