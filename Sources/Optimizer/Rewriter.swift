import Graph

/// A declared rewrite: a named pattern → replacement, with the reason it is safe in IEEE arithmetic.
///
/// `apply` looks at instruction `i` of the context (already emitted, operands rewritten) and
/// returns the index of an equivalent value — an existing instruction or one it made with
/// ``RewriteContext/make(_:_:)`` — or nil when the pattern does not match. The engine checks
/// that the replacement has the same dtype and static shape.
public struct RewriteRule: Sendable {
    /// The rule's name (in reports; also accepted by `disabledPasses`).
    public let name: String
    /// One line on why the rewrite keeps values (and NaN/Inf behaviour) or what it changes on purpose.
    public let justification: String
    /// The rewrite.
    public let apply: @Sendable (inout RewriteContext, Int) -> Int?
    /// Whether the rule looks up existing instructions with ``RewriteContext/find(_:_:)``.
    public let usesFind: Bool
    /// A cheap necessary condition for the rule to fire with instruction `i` of a program as its
    /// root (nil: no such test). When every rule of a pass has one and no instruction passes it,
    /// the pass skips its sweep entirely — most programs have no root most rules could match.
    public let root: (@Sendable (Program, Int) -> Bool)?

    /// Creates a rule.
    public init(_ name: String, _ justification: String, usesFind: Bool = false,
                root: (@Sendable (Program, Int) -> Bool)? = nil,
                _ apply: @escaping @Sendable (inout RewriteContext, Int) -> Int?) {
        self.name = name
        self.justification = justification
        self.usesFind = usesFind
        self.root = root
        self.apply = apply
    }

    /// A root test on the root instruction's op alone.
    public static func rootOp(_ test: @escaping @Sendable (Op) -> Bool) -> @Sendable (Program, Int) -> Bool {
        { p, i in test(p.instructions[i].op) }
    }

    /// A root test for an elementwise binary op of one of `functions`.
    public static func rootBinary(_ functions: BinaryFunction...) -> @Sendable (Program, Int) -> Bool {
        rootOp { op in if case .binary(let f) = op { return functions.contains(f) } else { return false } }
    }

    /// A root test for an elementwise unary op of one of `functions`.
    public static func rootUnary(_ functions: UnaryFunction...) -> @Sendable (Program, Int) -> Bool {
        rootOp { op in if case .unary(let f) = op { return functions.contains(f) } else { return false } }
    }
}

/// The program being rebuilt by a rule pass, as rules see it.
public struct RewriteContext {
    /// The instructions emitted so far (operands precede users).
    public private(set) var instructions: [Program.Instruction] = []
    /// The compile options (for the constant evaluator and limits).
    public let options: CompileOptions
    private let hashCons: Bool
    private let indexing: Bool
    private var table: [Key: Int] = [:]
    private var forward: [Int] = []
    private var assignCount: [Int: Int] = [:]
    /// The instruction currently being rewritten (new instructions copy its name and location).
    var current = 0
    /// How many emitted instructions were merged into an existing equal one.
    private(set) var merged = 0
    /// While true, `instructions` is still the unchanged input program and only its first
    /// `emittedCount` instructions count as emitted: a sweep that changes nothing copies nothing.
    private(set) var identity = false
    private var emittedCount = 0

    private struct Key: Hashable {
        var op: Op
        var inputs: [Int]
        var control: [Int]
        var versions: [Int]
    }

    init(options: CompileOptions, hashCons: Bool, indexing: Bool, base: [Program.Instruction]) {
        self.options = options
        self.hashCons = hashCons
        self.indexing = hashCons || indexing
        if self.indexing { table.reserveCapacity(base.count) }
        instructions = base
        identity = true
        forward.reserveCapacity(base.count)
    }

    /// The number of instructions emitted so far.
    var count: Int { identity ? emittedCount : instructions.count }

    /// Leaves identity mode: from here on the program is rebuilt by appending.
    mutating func leaveIdentity() {
        guard identity else { return }
        instructions.removeSubrange(emittedCount...)
        identity = false
    }

    /// In identity mode, accepts instruction `i` of the input program unchanged (or merges it
    /// into an equal earlier one, which ends identity mode).
    mutating func accept(_ i: Int) -> Int {
        let op = instructions[i].op
        if indexing && !op.hasSideEffects {
            let key = makeKey(op, instructions[i].inputs, instructions[i].controlInputs)
            if hashCons, let found = table[key] {
                leaveIdentity()
                merged += 1
                return resolve(found)
            }
            if table[key] == nil { table[key] = i }
        }
        forward.append(i)
        emittedCount = i + 1
        if op.isAssignment, let v = instructions[i].inputs.first { assignCount[v, default: 0] += 1 }
        return i
    }

    /// Instruction `i`.
    public subscript(i: Int) -> Program.Instruction { instructions[i] }

    /// The op of instruction `i`.
    public func op(_ i: Int) -> Op { instructions[i].op }
    /// The operands of instruction `i`.
    public func inputs(_ i: Int) -> [Int] { instructions[i].inputs }
    /// The static shape of instruction `i`.
    public func shape(_ i: Int) -> Shape { instructions[i].shape }
    /// The dtype of instruction `i`.
    public func dtype(_ i: Int) -> DType { instructions[i].dtype }

    /// The value of instruction `i` when it is a constant.
    public func constant(_ i: Int) -> HostTensor? {
        if case .constant(let t) = instructions[i].op { return t }
        return nil
    }

    /// The common value of a constant whose elements are all equal (a splat), if `i` is one.
    /// Also returns the constant's shape.
    public func splat(_ i: Int) -> (value: Double, shape: [Int])? {
        guard let t = constant(i), t.count >= 1, t.count <= 1 << 12 else { return nil }
        let v = t.doubles
        let first = v[0]
        for x in v where x.bitPattern != first.bitPattern { return nil }
        return (first, t.shape)
    }

    /// Whether instruction `i` is a splat constant equal to `value` (bitwise, so -0 ≠ +0)
    /// that does not widen `like`'s shape when broadcast against it.
    public func isSplat(_ i: Int, _ value: Double, broadcastingInto like: Int) -> Bool {
        guard let s = splat(i) else { return false }
        return s.value.bitPattern == value.bitPattern && fitsInside(s.shape, like)
    }

    /// Whether a constant of `shape` broadcast against instruction `like` leaves its shape unchanged.
    public func fitsInside(_ shape: [Int], _ like: Int) -> Bool {
        let target = instructions[like].shape
        guard shape.count <= target.rank else { return false }
        let off = target.rank - shape.count
        for (k, d) in shape.enumerated() where d != 1 && target.dims[off + k] != d { return false }
        return true
    }

    /// Makes a new instruction (or finds an equal existing one) applying `op` to `inputs`;
    /// nil when shape/dtype inference rejects it.
    public mutating func make(_ op: Op, _ inputs: [Int]) -> Int? {
        let types = inputs.map { (instructions[$0].dtype, instructions[$0].shape) }
        guard case .success(let t) = op.infer(inputs: types) else { return nil }
        let cur = instructions[current]
        return emit(Program.Instruction(op: op, inputs: inputs, dtype: t.dtype, shape: t.shape, name: cur.name,
                                        location: cur.location, origin: nil, role: cur.role))
    }

    /// A scalar constant of `dtype` (rank 0).
    public mutating func makeScalar(_ v: Double, dtype: DType) -> Int {
        let cur = instructions[current]
        return emit(Program.Instruction(op: .constant(HostTensor(filled: v, dtype: dtype, shape: [])), inputs: [],
                                        dtype: dtype, shape: .scalar, name: cur.name, location: cur.location, role: cur.role))
    }

    /// Appends an instruction, or returns an equal one already emitted (hash-consing) when allowed.
    mutating func emit(_ ins: Program.Instruction) -> Int {
        var key: Key?
        if indexing && !ins.op.hasSideEffects {
            key = makeKey(ins.op, ins.inputs, ins.controlInputs)
            if hashCons, let k = key, let found = table[k] {
                merged += 1
                return resolve(found)
            }
        }
        leaveIdentity()
        let n = instructions.count
        instructions.append(ins)
        forward.append(n)
        if let key, table[key] == nil { table[key] = n }
        if ins.op.isAssignment, let v = ins.inputs.first { assignCount[v, default: 0] += 1 }
        return n
    }

    private func makeKey(_ op: Op, _ inputs: [Int], _ control: [Int]) -> Key {
        var versions: [Int] = []
        if !assignCount.isEmpty {
            for (k, i) in inputs.enumerated() {
                if let n = assignCount[i], n > 0 { versions.append(k); versions.append(n) }
            }
        }
        return Key(op: op, inputs: inputs, control: control, versions: versions)
    }

    /// An already emitted instruction applying `op` to `inputs` (no control inputs), if any.
    public func find(_ op: Op, _ inputs: [Int]) -> Int? {
        table[makeKey(op, inputs, [])].map(resolve)
    }

    mutating func replace(_ old: Int, with new: Int) { forward[old] = new }

    /// Whether replacing `n` by `r` (with the instructions from `mark` on made by the rule) would
    /// read a variable, which `n` did not read directly, after an assignment to it (the value read
    /// would then be the new one), or would make `n` the variable itself across an assignment.
    func movesVariableRead(_ n: Int, to r: Int, mark: Int) -> Bool {
        guard !assignCount.isEmpty else { return false }
        func assigned(_ v: Int) -> Bool {
            if case .variable = instructions[v].op { return (assignCount[v] ?? 0) > 0 }
            return false
        }
        let direct = instructions[n].inputs
        if assigned(r) && !direct.contains(r) { return true }
        // `n` itself standing for the variable: a fetch of the variable is its value at the
        // variable's place, so an assignment between the two would change what is fetched.
        if assigned(r) && r < n && (r + 1..<n).contains(where: { k in instructions[k].op.isAssignment && instructions[k].inputs.first == r }) {
            return true
        }
        for k in Swift.max(mark, 0)..<count where k != n {
            for v in instructions[k].inputs where assigned(v) && !direct.contains(v) { return true }
        }
        return false
    }

    func resolve(_ i: Int) -> Int {
        var j = i
        while forward[j] != j { j = forward[j] }
        return j
    }

    mutating func setMetadata(of i: Int, from old: Int) {
        instructions[i].origin = instructions[old].origin
        instructions[i].name = instructions[old].name
        instructions[i].location = instructions[old].location
    }
}

/// A pass made of declared rules, applied bottom-up over the program and repeated to a
/// fixed point (at most ``iterationCap`` sweeps; at most ``rewriteDepthCap`` rewrites of one
/// instruction per sweep).
public struct RulePass: Pass {
    /// The pass's name.
    public let name: String
    /// Its rules (minus those disabled by name).
    public let rules: [RewriteRule]
    /// The compile options.
    public let options: CompileOptions
    /// Whether equal instructions are merged while rebuilding (the `cse` pass; other rule
    /// passes leave merging to it, so the report attributes merges to CSE).
    public let hashCons: Bool
    /// Sweeps per run, at most.
    public static let iterationCap = 8
    /// Rewrites of one instruction per sweep, at most.
    public static let rewriteDepthCap = 16

    /// Creates a rule pass.
    public init(name: String, rules: [RewriteRule], options: CompileOptions, hashCons: Bool? = nil) {
        self.name = name
        self.rules = rules.filter { !options.disabledPasses.contains($0.name) }
        self.options = options
        self.hashCons = hashCons ?? false
    }

    /// Applies the rules to a fixed point.
    public func run(_ program: inout Program) throws -> [String: Int] {
        var total: [String: Int] = [:]
        if !mayFire(program) { return total }
        for _ in 0..<Self.iterationCap {
            let (p, fired, merged) = sweep(program)
            program = p
            var any = merged > 0 && rules.isEmpty
            for (k, v) in fired where v > 0 { total[k, default: 0] += v; any = true }
            if merged > 0 { total["merged", default: 0] += merged }
            if !any || !mayFire(program) { break }
        }
        return total
    }

    /// False only when every rule has a root test and no instruction passes any of them
    /// (then no rule can fire, so the sweep is skipped).
    func mayFire(_ program: Program) -> Bool {
        if hashCons || rules.isEmpty { return true }
        let tests = rules.compactMap(\.root)
        guard tests.count == rules.count else { return true }
        for i in 0..<program.count where !program.instructions[i].op.isSource {
            for t in tests where t(program, i) { return true }
        }
        return false
    }

    func sweep(_ program: Program) -> (Program, [String: Int], Int) {
        var ctx = RewriteContext(options: options, hashCons: hashCons, indexing: rules.contains { $0.usesFind },
                                 base: program.instructions)
        var map = [Int](repeating: 0, count: program.count)
        var fired: [String: Int] = [:]
        for i in 0..<program.count {
            let stepStart = ctx.count
            var n: Int
            if ctx.identity {
                n = ctx.accept(i)
            } else {
                var ins = program.instructions[i]
                ins.inputs = ins.inputs.map { ctx.resolve(map[$0]) }
                ins.controlInputs = ins.controlInputs.map { ctx.resolve(map[$0]) }
                n = ctx.emit(ins)
            }
            let op = program.instructions[i].op
            if n >= stepStart && !rules.isEmpty && !op.isSource && !op.hasSideEffects
                && program.instructions[i].controlInputs.isEmpty {
                var depth = 0
                rewriting: while depth < Self.rewriteDepthCap {
                    depth += 1
                    ctx.current = n
                    for rule in rules {
                        let mark = ctx.count
                        guard let r = rule.apply(&ctx, n), r != n else { continue }
                        guard !ctx.movesVariableRead(n, to: r, mark: mark) else { continue }
                        // A replacement of another type is rejected; what the rule made stays dead (DCE removes it).
                        guard ctx.dtype(n) == ctx.dtype(r), ctx.shape(n) == ctx.shape(r) else { continue }
                        ctx.leaveIdentity()
                        let b = ctx[r]
                        fired[rule.name, default: 0] += 1
                        if r >= stepStart && b.origin == nil { ctx.setMetadata(of: r, from: n) }
                        ctx.replace(n, with: r)
                        n = r
                        if r >= stepStart && ctx[r].controlInputs.isEmpty { continue rewriting }
                        break rewriting
                    }
                    break
                }
            }
            map[i] = ctx.resolve(n)
        }
        if ctx.identity { return (program, fired, 0) }  // nothing changed, nothing copied
        var out = Program(instructions: ctx.instructions, outputs: program.outputs.map { ctx.resolve(map[$0]) })
        out.eliminateDeadCode()  // rewrites leave unused instructions behind
        return (out, fired, ctx.merged)
    }
}

/// Common-subexpression elimination: structurally equal instructions (same op, attributes,
/// operands and control inputs; equal constants bit for bit) are merged, hash-consing style.
/// Side-effecting and random ops are never merged, and a variable read is never merged
/// across an assignment to that variable.
public struct CSEPass: Pass {
    /// "cse"
    public let name = "cse"
    /// Creates the pass.
    public init() {}
    /// Merges equal instructions; reports them as `merged`.
    public func run(_ program: inout Program) throws -> [String: Int] {
        let pass = RulePass(name: name, rules: [], options: CompileOptions(verify: false), hashCons: true)
        let (p, _, merged) = pass.sweep(program)
        program = p
        return ["merged": merged]
    }
}
