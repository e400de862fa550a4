import Graph

extension RewriteContext {
    /// The operand of instruction `i` when it is the unary function `f`.
    func unary(_ i: Int, _ f: UnaryFunction) -> Int? {
        if case .unary(let g) = op(i), g == f { return self[i].inputs[0] }
        return nil
    }
    /// The operands of instruction `i` when it is the binary function `f`.
    func binary(_ i: Int, _ f: BinaryFunction) -> (Int, Int)? {
        if case .binary(let g) = op(i), g == f { return (self[i].inputs[0], self[i].inputs[1]) }
        return nil
    }
    /// The operand of `x op c` or `c op x` (for commutative `f`) where `c` is a splat equal to `value`
    /// that does not widen the other operand.
    func operand(of i: Int, _ f: BinaryFunction, splat value: Double, commutative: Bool = true) -> Int? {
        guard let (a, b) = binary(i, f) else { return nil }
        if isSplat(b, value, broadcastingInto: a) { return a }
        if commutative, isSplat(a, value, broadcastingInto: b) { return b }
        return nil
    }
    /// Whether `v` is ±2^k for k ≥ 0 (and finite).
    static func isPowerOfTwoAtLeastOne(_ v: Double) -> Bool {
        v.isFinite && v != 0 && Swift.abs(v) >= 1 && v.significand == 1
    }
}

/// Algebraic simplifications that are exact in IEEE arithmetic (canonicalize stage, O1).
public enum SimplifyRules {
    /// Every simplification rule, in the order they are tried.
    public static let all: [RewriteRule] = [
        RewriteRule("identity", "identity and stopGradient pass their input through unchanged at run time",
                    root: RewriteRule.rootOp { if case .identity = $0 { return true }; if case .stopGradient = $0 { return true }; return false }) { c, i in
            switch c.op(i) {
            case .identity, .stopGradient: return c.inputs(i)[0]
            default: return nil
            }
        },
        RewriteRule("mul-one", "x·1 = x for every IEEE x (NaN stays NaN, ±Inf and ±0 keep their sign) and every integer",
                    root: RewriteRule.rootBinary(.mul)) { c, i in
            c.operand(of: i, .mul, splat: 1)
        },
        RewriteRule("div-one", "x/1 = x exactly for every IEEE x and every integer",
                    root: RewriteRule.rootBinary(.div)) { c, i in
            c.operand(of: i, .div, splat: 1, commutative: false)
        },
        RewriteRule("add-zero", "x + (−0) = x exactly, also for x = −0; x − (+0) = x likewise; for integers x + 0 = x. "
                    + "x + (+0) on floats is NOT rewritten: (−0) + (+0) = +0, which 1/x would tell apart",
                    root: RewriteRule.rootBinary(.add, .sub)) { c, i in
            let dt = c.dtype(i)
            if let x = c.operand(of: i, .add, splat: -0.0) { return x }
            if let x = c.operand(of: i, .sub, splat: 0.0, commutative: false) { return x }
            if dt.isInteger {
                if let x = c.operand(of: i, .add, splat: 0) { return x }
            }
            return nil
        },
        RewriteRule("neg-neg", "−(−x) = x: negation only flips the sign bit",
                    root: RewriteRule.rootUnary(.neg)) { c, i in
            c.unary(i, .neg).flatMap { c.unary($0, .neg) }
        },
        RewriteRule("add-neg", "x + (−y) = x − y: IEEE defines subtraction as addition of the negation",
                    root: RewriteRule.rootBinary(.add)) { c, i in
            guard let (a, b) = c.binary(i, .add), c.dtype(i).isFloatingPoint else { return nil }
            if let y = c.unary(b, .neg) { return c.make(.binary(.sub), [a, y]) }
            if let y = c.unary(a, .neg) { return c.make(.binary(.sub), [b, y]) }
            return nil
        },
        RewriteRule("sub-neg", "x − (−y) = x + y: subtraction is addition of the negation",
                    root: RewriteRule.rootBinary(.sub)) { c, i in
            guard let (a, b) = c.binary(i, .sub), c.dtype(i).isFloatingPoint, let y = c.unary(b, .neg) else { return nil }
            return c.make(.binary(.add), [a, y])
        },
        RewriteRule("mul-minus-one", "x·(−1) = −x exactly (the product is exact; NaN stays NaN)",
                    root: RewriteRule.rootBinary(.mul)) { c, i in
            guard c.dtype(i).isFloatingPoint, let x = c.operand(of: i, .mul, splat: -1) else { return nil }
            return c.make(.unary(.neg), [x])
        },
        RewriteRule("div-pow2", "x/2^k = x·2^−k exactly: both are the correctly rounded value of the same real number "
                    + "(when 2^−k is representable), including overflow, subnormals, NaN and Inf",
                    root: RewriteRule.rootBinary(.div)) { c, i in
            guard let (x, d) = c.binary(i, .div), c.dtype(i).isFloatingPoint, let s = c.splat(d),
                  c.fitsInside(s.shape, x), s.value != 0, s.value.significand == 1 else { return nil }
            let r = 1 / s.value
            let exact = c.dtype(i) == .float32 ? Double(Float(r)) == r && Float(r).isNormal : r.isNormal
            guard exact, Swift.abs(s.value) != 1 else { return nil }
            let k = c.makeScalar(r, dtype: c.dtype(i))
            return c.make(.binary(.mul), [x, k])
        },
        RewriteRule("scale-combine", "(x·c1)·c2 = x·(c1c2) when c1, c2 are ±2^k with k ≥ 0 and c1c2 is finite: every "
                    + "product is exact, and x·c1 overflows only if x·c1c2 does (other constants would round twice)",
                    root: RewriteRule.rootBinary(.mul)) { c, i in
            guard c.dtype(i).isFloatingPoint, let (p, c2) = c.binary(i, .mul) else { return nil }
            func match(_ p: Int, _ c2: Int) -> Int? {
                guard let s2 = c.splat(c2), s2.shape.isEmpty, RewriteContext.isPowerOfTwoAtLeastOne(s2.value),
                      let (x, c1) = c.binary(p, .mul) else { return nil }
                for (xx, cc) in [(x, c1), (c1, x)] {
                    if let s1 = c.splat(cc), s1.shape.isEmpty, RewriteContext.isPowerOfTwoAtLeastOne(s1.value) {
                        let prod = s1.value * s2.value
                        let finite = c.dtype(i) == .float32 ? Float(prod).isFinite : prod.isFinite
                        guard finite else { return nil }
                        let k = c.makeScalar(prod, dtype: c.dtype(i))
                        return c.make(.binary(.mul), [xx, k])
                    }
                }
                return nil
            }
            return match(p, c2) ?? match(c2, p)
        },
        RewriteRule("transpose-identity", "a transpose by the identity permutation moves no data",
                    root: RewriteRule.rootOp { if case .transpose = $0 { return true } else { return false } }) { c, i in
            guard case .transpose(let p) = c.op(i), p == Array(0..<p.count) else { return nil }
            return c.inputs(i)[0]
        },
        RewriteRule("transpose-transpose", "two transposes compose to one permutation (data movement only)",
                    root: RewriteRule.rootOp { if case .transpose = $0 { return true } else { return false } }) { c, i in
            guard case .transpose(let q) = c.op(i), case .transpose(let p) = c.op(c.inputs(i)[0]) else { return nil }
            let x = c.inputs(c.inputs(i)[0])[0]
            let r = q.map { p[$0] }
            if r == Array(0..<r.count) { return x }
            return c.make(.transpose(r), [x])
        },
        RewriteRule("reshape-reshape", "a reshape of a reshape is one reshape (row-major order is unchanged)",
                    root: RewriteRule.rootOp { if case .reshape = $0 { return true } else { return false } }) { c, i in
            guard case .reshape(let s) = c.op(i), case .reshape = c.op(c.inputs(i)[0]) else { return nil }
            return c.make(.reshape(s), [c.inputs(c.inputs(i)[0])[0]])
        },
        RewriteRule("reshape-noop", "a reshape to the input's own shape (at most one unknown dimension) moves nothing",
                    root: RewriteRule.rootOp { if case .reshape = $0 { return true } else { return false } }) { c, i in
            guard case .reshape = c.op(i) else { return nil }
            let x = c.inputs(i)[0]
            guard c.shape(x) == c.shape(i), c.shape(x).dims.filter({ $0 == nil }).count <= 1 else { return nil }
            return x
        },
        RewriteRule("broadcast-noop", "broadcasting to the shape the input already has copies it unchanged",
                    root: RewriteRule.rootOp { if case .broadcastTo = $0 { return true } else { return false } }) { c, i in
            guard case .broadcastTo(let s) = c.op(i), c.shape(c.inputs(i)[0]) == Shape(known: s) else { return nil }
            return c.inputs(i)[0]
        },
        RewriteRule("cast-noop", "a cast to the input's own dtype is the identity",
                    root: RewriteRule.rootOp { if case .cast = $0 { return true } else { return false } }) { c, i in
            guard case .cast(let d) = c.op(i), c.dtype(c.inputs(i)[0]) == d else { return nil }
            return c.inputs(i)[0]
        },
        RewriteRule("cast-roundtrip", "float32 → float64 is exact, so casting back gives the same float32 (NaN, ±Inf, ±0 too)",
                    root: RewriteRule.rootOp { if case .cast(.float32) = $0 { return true } else { return false } }) { c, i in
            guard case .cast(.float32) = c.op(i), case .cast(.float64) = c.op(c.inputs(i)[0]) else { return nil }
            let x = c.inputs(c.inputs(i)[0])[0]
            return c.dtype(x) == .float32 ? x : nil
        },
        RewriteRule("squeeze-expand", "squeezing the axis expandDims just inserted gives the input back",
                    root: RewriteRule.rootOp { if case .squeeze = $0 { return true } else { return false } }) { c, i in
            guard case .squeeze(let axes) = c.op(i), case .expandDims(let a) = c.op(c.inputs(i)[0]), axes == [a] else { return nil }
            return c.inputs(c.inputs(i)[0])[0]
        },
        RewriteRule("reduce-no-axes", "sum/mean/max/min/prod over no axes is the identity (mean divides by 1); "
                    + "logsumexp is excluded (log(exp(x)) rounds)",
                    root: RewriteRule.rootOp { if case .reduce = $0 { return true } else { return false } }) { c, i in
            guard case .reduce(let f, let axes, _) = c.op(i), axes.isEmpty, f != .logsumexp else { return nil }
            return c.inputs(i)[0]
        },
    ]
}

/// Transposes folded into matmul flags (specialize stage, O2).
public enum SpecializeRules {
    static func swapsLastTwo(_ p: [Int]) -> Bool {
        let r = p.count
        guard r >= 2 else { return false }
        return p == Array(0..<(r - 2)) + [r - 1, r - 2]
    }

    /// Every specialization rule.
    public static let all: [RewriteRule] = [
        RewriteRule("matmul-transpose", "matmul(transpose(a), b) = matmul(a, b, transposeA: true): the same products "
                    + "and sums (BLAS leaves the summation order unspecified either way)",
                    root: RewriteRule.rootOp { if case .matmul = $0 { return true } else { return false } }) { c, i in
            guard case .matmul(let ta, let tb) = c.op(i) else { return nil }
            var (a, b) = (c.inputs(i)[0], c.inputs(i)[1])
            var (na, nb) = (ta, tb)
            var changed = false
            if case .transpose(let p) = c.op(a), swapsLastTwo(p) { a = c.inputs(a)[0]; na.toggle(); changed = true }
            if case .transpose(let p) = c.op(b), swapsLastTwo(p) { b = c.inputs(b)[0]; nb.toggle(); changed = true }
            return changed ? c.make(.matmul(transposeA: na, transposeB: nb), [a, b]) : nil
        },
        RewriteRule("relu-mask", "z > 0 → relu(z) > 0 when relu(z) is computed anyway: equal for every z (NaN and ±0 "
                    + "give false both ways); the pre-activation z then has one user, so its GEMM epilogue can absorb the ReLU",
                    usesFind: true,
                    root: RewriteRule.rootBinary(.greater)) { c, i in
            guard let (z, zero) = c.binary(i, .greater), c.isSplat(zero, 0, broadcastingInto: z),
                  let r = c.find(.unary(.relu), [z]), r != i else { return nil }
            return c.make(.binary(.greater), [r, zero])
        },
    ]
}

/// Constant folding (canonicalize stage, O1).
public enum FoldRules {
    /// The folding rule for `options` (none without an evaluator).
    public static func rules(_ options: CompileOptions) -> [RewriteRule] {
        guard let evaluator = options.evaluator else { return [] }
        let limit = options.foldLimit
        return [
            RewriteRule("fold", "evaluates an op whose inputs are all constants with the runtime's own kernel, "
                        + "so the value is the one the program would compute (never variables, feeds or random ops)",
                    root: { p, i in let ins = p.instructions[i]; return !ins.inputs.isEmpty && ins.inputs.allSatisfy { if case .constant = p.instructions[$0].op { return true } else { return false } } }) { c, i in
                let ins = c[i]
                guard !ins.op.isSource, !ins.op.hasSideEffects, !ins.inputs.isEmpty,
                      let n = ins.shape.elementCount, n <= limit else { return nil }
                var values: [HostTensor] = []
                for j in ins.inputs {
                    guard let t = c.constant(j) else { return nil }
                    values.append(t)
                }
                guard let v = try? evaluator.evaluate(ins.op, inputs: values),
                      v.dtype == ins.dtype, ins.shape.accepts(v.shape) else { return nil }
                return c.emit(Program.Instruction(op: .constant(v), inputs: [], dtype: v.dtype, shape: Shape(known: v.shape),
                                                  name: ins.name, location: ins.location, origin: ins.origin, role: ins.role))
            },
        ]
    }
}
