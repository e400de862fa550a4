import Graph

/// Where assignments to each variable happen, so fusion never moves a variable read
/// across an assignment to it.
struct AssignmentGuard {
    private var positions: [Int: [Int]] = [:]  // variable instruction -> sorted assign positions

    init(_ program: Program) {
        for (i, ins) in program.instructions.enumerated() {
            if ins.op.isAssignment, let v = ins.inputs.first { positions[v, default: []].append(i) }
        }
    }

    /// Whether instruction `member` (reading `inputs`) may be evaluated at position `to` instead.
    func canMove(_ program: Program, inputs: [Int], from: Int, to: Int) -> Bool {
        if positions.isEmpty { return true }
        for j in inputs {
            guard case .variable = program.instructions[j].op, let ps = positions[j] else { continue }
            if ps.contains(where: { $0 > from && $0 < to }) { return false }
        }
        return true
    }
}

extension Program {
    /// A copy where `replacements[i]` (an op and operands, old indices) replaces instruction i
    /// and instructions marked in `removed` are dropped (nothing outside may still use them).
    func rebuilt(replacing replacements: [Int: (Op, [Int], TypeInfo)], removed: [Bool]) -> Program {
        var map = [Int](repeating: -1, count: count)
        var out: [Instruction] = []
        out.reserveCapacity(count)
        for (i, old) in instructions.enumerated() where !removed[i] {
            var ins = old
            if let (op, inputs, t) = replacements[i] {
                ins.op = op
                ins.inputs = inputs
                ins.dtype = t.dtype
                ins.shape = t.shape
            }
            ins.inputs = ins.inputs.map { map[$0] }
            ins.controlInputs = ins.controlInputs.map { map[$0] }
            map[i] = out.count
            out.append(ins)
        }
        return Program(instructions: out, outputs: outputs.map { map[$0] })
    }
}

/// Builds fused programs from elementwise regions.
enum FusedBuilder {
    /// Whether an instruction may be part of a fused elementwise region.
    static func isFusible(_ ins: Program.Instruction) -> Bool {
        guard ins.controlInputs.isEmpty else { return false }
        switch ins.op {
        case .unary, .binary, .select, .cast, .identity, .fused: return true
        default: return false
        }
    }

    /// A rank-0 constant that can live inside the fused program as a literal.
    static func literal(_ ins: Program.Instruction) -> Double? {
        guard case .constant(let t) = ins.op, t.shape.isEmpty, let v = t.scalarValue else { return nil }
        if t.dtype.isInteger && Swift.abs(v) > 9.0e15 { return nil }
        return v
    }

    /// The fused program computing `root` from the region `members` (which contains `root`),
    /// and the leaf instructions it reads, in input order.
    static func build(_ program: Program, root: Int, members: Set<Int>) -> (FusedProgram, [Int])? {
        build(program, root: root, isMember: { members.contains($0) })
    }

    /// The same, with region membership given by a predicate.
    static func build(_ program: Program, root: Int, isMember: (Int) -> Bool) -> (FusedProgram, [Int])? {
        let ins = program.instructions
        var steps: [FusedProgram.Step] = []
        var dtypes: [DType] = []
        var stepOf: [Int: Int] = [:]
        var leaves: [Int] = []
        func leafStep(_ j: Int) -> Int {
            if let s = stepOf[j] { return s }
            if let v = literal(ins[j]) {
                steps.append(.constant(v))
            } else {
                steps.append(.input(leaves.count))
                leaves.append(j)
            }
            dtypes.append(ins[j].dtype)
            stepOf[j] = steps.count - 1
            return steps.count - 1
        }
        // Iterative post-order over members.
        var stack: [(Int, Bool)] = [(root, false)]
        while let (m, expanded) = stack.popLast() {
            if stepOf[m] != nil { continue }
            if !expanded {
                stack.append((m, true))
                for j in ins[m].inputs.reversed() where isMember(j) && stepOf[j] == nil { stack.append((j, false)) }
                continue
            }
            let a = ins[m].inputs.map { isMember($0) ? (stepOf[$0] ?? 0) : leafStep($0) }
            let dt = ins[m].dtype
            switch ins[m].op {
            case .unary(let f): steps.append(.unary(f, a[0])); dtypes.append(dt)
            case .binary(let f): steps.append(.binary(f, a[0], a[1])); dtypes.append(dt)
            case .select: steps.append(.select(a[0], a[1], a[2])); dtypes.append(dt)
            case .cast(let d): steps.append(.cast(d, a[0])); dtypes.append(dt)
            case .identity: stepOf[m] = a[0]; continue
            case .fused(let p):
                var local: [Int] = []
                for s in p.steps {
                    switch s {
                    case .input(let k): local.append(a[k]); continue
                    case .constant(let v): steps.append(.constant(v))
                    case .unary(let f, let x): steps.append(.unary(f, local[x]))
                    case .binary(let f, let x, let y): steps.append(.binary(f, local[x], local[y]))
                    case .select(let c, let x, let y): steps.append(.select(local[c], local[x], local[y]))
                    case .cast(let d, let x): steps.append(.cast(d, local[x]))
                    }
                    dtypes.append(p.dtypes[local.count])
                    local.append(steps.count - 1)
                }
                stepOf[m] = local.last ?? 0
                continue
            default: return nil
            }
            stepOf[m] = steps.count - 1
        }
        guard let last = stepOf[root] else { return nil }
        if last != steps.count - 1 { return nil }  // the root is an identity of an earlier step
        return (FusedProgram(steps: steps, dtypes: dtypes), leaves)
    }

    /// The type a fused op would infer, when it matches `like`'s dtype and static shape.
    static func check(_ op: Op, _ program: Program, leaves: [Int], like: Int) -> TypeInfo? {
        let types = leaves.map { (program.instructions[$0].dtype, program.instructions[$0].shape) }
        guard case .success(let t) = op.infer(inputs: types), t.dtype == program.instructions[like].dtype,
              t.shape == program.instructions[like].shape else { return nil }
        return t
    }
}

/// GEMM epilogue fusion: `matmul + bias` (bias along the last axis), optionally followed by an
/// elementwise activation, becomes one `.linear` instruction — only when the matmul (and, to
/// absorb the activation, the bias add) has no other user.
public struct LinearFusionPass: Pass {
    /// "fuse-linear"
    public let name = "fuse-linear"
    /// Creates the pass.
    public init() {}

    /// Fuses every matching matmul epilogue; reports `linear` and `linear+activation` counts.
    public func run(_ program: inout Program) throws -> [String: Int] {
        let ins = program.instructions
        let uses = program.useCounts()
        var user = [Int](repeating: -1, count: ins.count)
        for (i, x) in ins.enumerated() { for j in x.inputs { user[j] = i } }
        let guardA = AssignmentGuard(program)
        var replacements: [Int: (Op, [Int], TypeInfo)] = [:]
        var removed = [Bool](repeating: false, count: ins.count)
        var fired: [String: Int] = [:]
        for (i, add) in ins.enumerated() {
            guard case .binary(.add) = add.op, add.controlInputs.isEmpty, add.dtype.isFloatingPoint, !removed[i] else { continue }
            for (mm, bias) in [(add.inputs[0], add.inputs[1]), (add.inputs[1], add.inputs[0])] {
                guard case .matmul(let ta, let tb) = ins[mm].op, uses[mm] == 1, ins[mm].controlInputs.isEmpty, !removed[mm],
                      ins[bias].shape.rank == 1, let n = ins[mm].shape.dims.last, let nn = n, ins[bias].shape.dims[0] == nn,
                      ins[bias].dtype == add.dtype,
                      guardA.canMove(program, inputs: ins[mm].inputs, from: mm, to: i) else { continue }
                var target = i
                var act: UnaryFunction?
                let u = user[i]
                if uses[i] == 1, u >= 0, case .unary(let f) = ins[u].op, ins[u].controlInputs.isEmpty, f != .logicalNot,
                   guardA.canMove(program, inputs: ins[mm].inputs + [bias], from: mm, to: u) {
                    target = u
                    act = f
                }
                let op = Op.linear(transposeA: ta, transposeB: tb, activation: act)
                let operands = ins[mm].inputs + [bias]
                let types = operands.map { (ins[$0].dtype, ins[$0].shape) }
                guard case .success(let t) = op.infer(inputs: types), t.dtype == ins[target].dtype,
                      t.shape == ins[target].shape else { continue }
                replacements[target] = (op, operands, t)
                removed[mm] = true
                if target != i { removed[i] = true }
                fired[act == nil ? "linear" : "linear+activation", default: 0] += 1
                break
            }
        }
        if !replacements.isEmpty { program = program.rebuilt(replacing: replacements, removed: removed) }
        return fired
    }
}

/// Elementwise fusion: maximal regions of elementwise instructions (unary, binary, where, cast,
/// identity) become one `.fused` instruction. A region grows from its last instruction
/// through producers that have no other user, up to `maxInputs` distinct inputs; rank-0
/// constants become literals.
public struct ElementwiseFusionPass: Pass {
    /// "fuse-elementwise"
    public let name = "fuse-elementwise"
    /// The most distinct inputs one fused kernel reads.
    public let maxInputs: Int
    /// The most instructions one region absorbs.
    public static let maxRegionSize = 128

    /// Creates the pass.
    public init(maxInputs: Int = 8) { self.maxInputs = maxInputs }

    /// Fuses regions; reports `regions` and `fused-instructions` (instructions absorbed).
    public func run(_ program: inout Program) throws -> [String: Int] {
        let ins = program.instructions
        let uses = program.useCounts()
        let guardA = AssignmentGuard(program)
        var regionOf = [Int](repeating: -1, count: ins.count)  // the root of the region an instruction joined
        var replacements: [Int: (Op, [Int], TypeInfo)] = [:]
        var removed = [Bool](repeating: false, count: ins.count)
        var regions = 0, absorbed = 0
        var order: [Int] = []
        var leaves: [Int] = []
        for r in stride(from: ins.count - 1, through: 0, by: -1) where regionOf[r] < 0 && FusedBuilder.isFusible(ins[r]) {
            regionOf[r] = r
            order.removeAll(keepingCapacity: true)
            order.append(r)
            leaves.removeAll(keepingCapacity: true)
            for q in ins[r].inputs where FusedBuilder.literal(ins[q]) == nil && !leaves.contains(q) { leaves.append(q) }
            var k = 0
            while k < order.count && order.count < Self.maxRegionSize {
                let m = order[k]
                k += 1
                for p in ins[m].inputs where regionOf[p] < 0 && uses[p] == 1 && FusedBuilder.isFusible(ins[p]) {
                    var newLeaves = leaves.filter { $0 != p }
                    for q in ins[p].inputs where regionOf[q] != r && FusedBuilder.literal(ins[q]) == nil && !newLeaves.contains(q) {
                        newLeaves.append(q)
                    }
                    guard newLeaves.count <= maxInputs,
                          guardA.canMove(program, inputs: ins[p].inputs, from: p, to: r) else { continue }
                    leaves = newLeaves
                    regionOf[p] = r
                    order.append(p)
                }
            }
            guard order.count >= 2, let (fp, lv) = FusedBuilder.build(program, root: r, isMember: { regionOf[$0] == r }),
                  let t = FusedBuilder.check(.fused(fp), program, leaves: lv, like: r) else {
                for m in order where m != r { regionOf[m] = -1 }  // members may still root their own regions
                continue
            }
            replacements[r] = (.fused(fp), lv, t)
            for m in order where m != r { removed[m] = true }
            regions += 1
            absorbed += order.count
        }
        if !replacements.isEmpty { program = program.rebuilt(replacing: replacements, removed: removed) }
        return ["regions": regions, "fused-instructions": absorbed]
    }
}

/// Reduction fusion: a reduction whose input is an elementwise instruction (or fused region)
/// with no other user becomes one `.fusedReduce` (`sum(x * y)` never stores `x * y`).
public struct ReduceFusionPass: Pass {
    /// "fuse-reduce"
    public let name = "fuse-reduce"
    /// Creates the pass.
    public init() {}

    /// Fuses reductions with their elementwise producers; reports `fusedReduce`.
    public func run(_ program: inout Program) throws -> [String: Int] {
        let ins = program.instructions
        let uses = program.useCounts()
        let guardA = AssignmentGuard(program)
        var replacements: [Int: (Op, [Int], TypeInfo)] = [:]
        var removed = [Bool](repeating: false, count: ins.count)
        var count = 0
        for (i, red) in ins.enumerated() {
            guard case .reduce(let f, let axes, let keep) = red.op, red.controlInputs.isEmpty else { continue }
            let x = red.inputs[0]
            guard uses[x] == 1, FusedBuilder.isFusible(ins[x]), !removed[x],
                  guardA.canMove(program, inputs: ins[x].inputs, from: x, to: i) else { continue }
            if case .identity = ins[x].op { continue }
            guard let (fp, lv) = FusedBuilder.build(program, root: x, members: [x]) else { continue }
            let op = Op.fusedReduce(f, axes: axes, keepDims: keep, fp)
            guard let t = FusedBuilder.check(op, program, leaves: lv, like: i) else { continue }
            replacements[i] = (op, lv, t)
            removed[x] = true
            count += 1
        }
        if !replacements.isEmpty { program = program.rebuilt(replacing: replacements, removed: removed) }
        return ["fusedReduce": count]
    }
}
