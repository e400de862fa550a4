import Graph

/// Update fusion: a variable update whose value is a scaled matrix product,
///
/// ```
/// assignSub(v, matmul(a, b) * c)   (also c * matmul, assignAdd, no scale)
/// assign(v, v - matmul(a, b) * c)  (also v + …, … + v: the form of NN's SGD)
/// ```
///
/// becomes one `assignMatMul(alpha: ∓c)` instruction, `v ← v + alpha · op(a) × op(b)`: a GEMM with
/// β = 1 that writes into the variable's memory (an SGD step on a weight: `W -= lr · (hᵀ × dZ)`),
/// instead of a GEMM into a temporary, a scaling pass and an update pass.
///
/// Fires only when it cannot change what the program computes, apart from the GEMM's own rounding
/// (`alpha` applied inside the GEMM instead of as a separate multiply):
/// * the update is float32 or float64, the product is rank 2 with the variable's exact static shape
///   (no broadcast into the variable), the scale is a finite non-zero constant splat;
/// * the scaled value (and `v ∓ …`) has no other user (not fetched, not a control input, not read by
///   anything else), the product has no other data user and is not fetched, and none of them has
///   control inputs. Control inputs on the product (an optimizer waiting for every gradient) are
///   replaced by the product's operands: what the product waited for still runs first;
/// * in the `assign(v, v − …)` form, `v` is not assigned between its read and the update;
/// * no factor of the product reads (directly or through a view) a variable assigned between the
///   product and the update, so evaluating the product at the update's position reads the same values.
///
/// The update stays where the assignment was, so every read of the variable before or after it sees
/// what it saw before.
public struct UpdateFusionPass: Pass {
    /// "fuse-update"
    public let name = "fuse-update"
    /// Creates the pass.
    public init() {}

    /// Fuses every matching update; reports `assign-matmul`.
    public func run(_ program: inout Program) throws -> [String: Int] {
        let ins = program.instructions
        guard ins.contains(where: { if case .assign = $0.op { return true } else { return false } }) else { return [:] }
        // Data uses (fetches count) and control uses, separately.
        var uses = [Int](repeating: 0, count: ins.count), controlUses = [Int](repeating: 0, count: ins.count)
        for x in ins {
            for j in x.inputs { uses[j] += 1 }
            for j in x.controlInputs { controlUses[j] += 1 }
        }
        for o in program.outputs where o >= 0 && o < ins.count { uses[o] += 1 }
        var controlSubstitute: [Int: [Int]] = [:]
        let guardA = AssignmentGuard(program)
        var replacements: [Int: (Op, [Int], TypeInfo)] = [:]
        var removed = [Bool](repeating: false, count: ins.count)
        var fired = 0

        /// The scale and the product of `value` when it is `matmul`, `matmul * c` or `c * matmul`.
        func scaledProduct(_ value: Int) -> (scale: Double, product: Int, mul: Int?)? {
            if case .matmul = ins[value].op { return (1, value, nil) }
            guard case .binary(.mul) = ins[value].op, ins[value].inputs.count == 2 else { return nil }
            for (p, c) in [(ins[value].inputs[0], ins[value].inputs[1]), (ins[value].inputs[1], ins[value].inputs[0])] {
                guard case .matmul = ins[p].op, let s = splat(c), ins[value].shape == ins[p].shape else { continue }
                return (s, p, value)
            }
            return nil
        }
        /// The common value of a small constant whose elements are all equal.
        func splat(_ i: Int) -> Double? {
            guard case .constant(let t) = ins[i].op, t.count >= 1, t.count <= 4096 else { return nil }
            let v = t.doubles
            return v.allSatisfy { $0.bitPattern == v[0].bitPattern } ? v[0] : nil
        }
        /// The instruction a value's storage belongs to, through views.
        func viewRoot(_ i: Int) -> Int {
            var j = i
            while true {
                switch ins[j].op {
                case .reshape, .reshapeLike, .identity, .stopGradient, .squeeze, .expandDims: j = ins[j].inputs[0]
                default: return j
                }
            }
        }

        for (i, x) in ins.enumerated() {
            guard case .assign(let mode) = x.op, x.inputs.count == 2,
                  x.dtype == .float32 || x.dtype == .float64 else { continue }
            let v = x.inputs[0]
            var value = x.inputs[1], sign: Double = mode == .sub ? -1 : 1
            var readOfV: Int?  // the `v ∓ …` instruction of the assign(v, v ∓ …) form
            if mode == .assign {
                guard case .binary(let f) = ins[value].op, f == .add || f == .sub, ins[value].inputs.count == 2,
                      uses[value] == 1, controlUses[value] == 0, ins[value].controlInputs.isEmpty,
                      ins[value].shape == ins[v].shape else { continue }
                let (l, r) = (ins[value].inputs[0], ins[value].inputs[1])
                if l == v && r != v {
                    readOfV = value; value = r; sign = f == .sub ? -1 : 1
                } else if f == .add && r == v && l != v {
                    readOfV = value; value = l
                } else { continue }
                guard let rv = readOfV, guardA.canMove(program, inputs: [v], from: rv, to: i) else { continue }
            }
            guard case .variable = ins[v].op, let vShape = ins[v].shape.known, vShape.count == 2,
                  uses[value] == 1, controlUses[value] == 0, ins[value].controlInputs.isEmpty, !removed[value],
                  let (scale, mm, mul) = scaledProduct(value),
                  case .matmul(let ta, let tb) = ins[mm].op,
                  mm == value || uses[mm] == 1, ins[mm].controlInputs.isEmpty, !removed[mm],
                  ins[mm].dtype == x.dtype, ins[mm].shape.known == vShape,
                  ins[mm].inputs.count == 2, ins[mm].inputs.allSatisfy({ ins[$0].shape.rank == 2 }),
                  scale.isFinite, scale != 0 else { continue }
            // The factors are read at the update's position instead of the product's.
            let roots = ins[mm].inputs.map(viewRoot)
            guard guardA.canMove(program, inputs: roots, from: mm, to: i) else { continue }
            let alpha = sign * scale
            let op = Op.assignMatMul(transposeA: ta, transposeB: tb, alpha: alpha)
            let operands = [v] + ins[mm].inputs
            guard case .success(let t) = op.infer(inputs: operands.map { (ins[$0].dtype, ins[$0].shape) }),
                  t.dtype == x.dtype, t.shape == x.shape else { continue }
            replacements[i] = (op, operands, t)
            removed[mm] = true
            if let mul { removed[mul] = true }
            if let readOfV { removed[readOfV] = true }
            if controlUses[mm] > 0 { controlSubstitute[mm] = ins[mm].inputs }
            fired += 1
        }
        if replacements.isEmpty { return ["assign-matmul": 0] }
        if !controlSubstitute.isEmpty {
            // Control inputs on a removed product now name its operands (earlier instructions).
            for k in program.instructions.indices where !program.instructions[k].controlInputs.isEmpty {
                var seen = Set<Int>()
                program.instructions[k].controlInputs = program.instructions[k].controlInputs
                    .flatMap { controlSubstitute[$0] ?? [$0] }
                    .filter { seen.insert($0).inserted }
            }
        }
        program = program.rebuilt(replacing: replacements, removed: removed)
        return ["assign-matmul": fired]
    }
}
