import Graph

/// Numerical stabilization (stabilize stage, O2). These rules change values on purpose:
/// the replacement is the accurate version of the same formula, so where the naive
/// program overflows, underflows to log(0) or cancels catastrophically, the rewritten
/// one gives the finite, accurate answer.
public enum StabilizeRules {
    /// Every stabilization rule.
    public static let all: [RewriteRule] = [
        RewriteRule("log-softmax", "log(softmax(x)) → logSoftmax(x): x − logsumexp(x) never takes log(0) when a "
                    + "probability underflows (x = [1000, 0] gives −1000, not −Inf)",
                    root: RewriteRule.rootUnary(.log)) { c, i in
            guard let s = c.unary(i, .log), case .softmax(let a) = c.op(s) else { return nil }
            return c.make(.logSoftmax(axis: a), [c.inputs(s)[0]])
        },
        RewriteRule("log1p", "log(1 + x) → log1p(x): keeps the digits of small x that 1 + x rounds away",
                    root: RewriteRule.rootUnary(.log)) { c, i in
            guard let s = c.unary(i, .log), let x = c.operand(of: s, .add, splat: 1) else { return nil }
            return c.make(.unary(.log1p), [x])
        },
        RewriteRule("expm1", "exp(x) − 1 → expm1(x): avoids the cancellation that zeroes small x",
                    root: RewriteRule.rootBinary(.sub, .add)) { c, i in
            var e: Int? = c.operand(of: i, .sub, splat: 1, commutative: false)
            if e == nil { e = c.operand(of: i, .add, splat: -1) }
            guard let e, let x = c.unary(e, .exp) else { return nil }
            return c.make(.unary(.expm1), [x])
        },
        RewriteRule("softplus", "log1p(exp(x)) → softplus(x): exp overflows for x > 88 (float32), softplus does not",
                    root: RewriteRule.rootUnary(.log1p)) { c, i in
            guard let e = c.unary(i, .log1p), let x = c.unary(e, .exp) else { return nil }
            return c.make(.unary(.softplus), [x])
        },
        RewriteRule("log-sigmoid", "log(sigmoid(x)) → −softplus(−x): sigmoid underflows to 0 for x < −104 (float32) "
                    + "and log(0) = −Inf; −softplus(−x) stays ≈ x",
                    root: RewriteRule.rootUnary(.log)) { c, i in
            guard let s = c.unary(i, .log), let x = c.unary(s, .sigmoid),
                  let n = c.make(.unary(.neg), [x]), let sp = c.make(.unary(.softplus), [n]) else { return nil }
            return c.make(.unary(.neg), [sp])
        },
        RewriteRule("logsumexp", "log(sum(exp(x))) → logsumexp(x): subtracts the maximum first, so exp cannot "
                    + "overflow to Inf nor every term underflow to log(0)",
                    root: RewriteRule.rootUnary(.log)) { c, i in
            guard let s = c.unary(i, .log), case .reduce(.sum, let axes, let keep) = c.op(s),
                  let x = c.unary(c.inputs(s)[0], .exp) else { return nil }
            return c.make(.reduce(.logsumexp, axes: axes, keepDims: keep), [x])
        },
        RewriteRule("neg-reduce", "−mean(y) = mean(−y) and −sum(y) = sum(−y) exactly (rounding to nearest is "
                    + "symmetric); applied only when y is itself a reduction, to expose cross-entropy",
                    root: RewriteRule.rootUnary(.neg)) { c, i in
            guard let r = c.unary(i, .neg), case .reduce(let f, let axes, let keep) = c.op(r), f == .sum || f == .mean,
                  case .reduce(let g, _, _) = c.op(c.inputs(r)[0]), g == .sum || g == .mean else { return nil }
            guard let n = c.make(.unary(.neg), [c.inputs(r)[0]]) else { return nil }
            return c.make(.reduce(f, axes: axes, keepDims: keep), [n])
        },
        RewriteRule("softmax-cross-entropy", "−sum(oneHot(labels) · logSoftmax(x)) over the class axis → "
                    + "softmaxCrossEntropy(x, labels): the same value without forming 0·log(0) = NaN; "
                    + "labels outside [0, depth) are not checked (the pattern gives 0 there)",
                    root: RewriteRule.rootOp { if case .unary(.neg) = $0 { return true }; if case .reduce(.sum, _, _) = $0 { return true }; return false }) { c, i in
            // Root: neg(sum(m)) or sum(neg(m)).
            var sumNode: Int?
            var m: Int?
            if let s = c.unary(i, .neg), case .reduce(.sum, _, _) = c.op(s) {
                sumNode = s; m = c.inputs(s)[0]
            } else if case .reduce(.sum, _, _) = c.op(i), let n = c.unary(c.inputs(i)[0], .neg) {
                sumNode = i; m = n
            }
            guard let sumNode, let m, case .reduce(.sum, let axes, let keep) = c.op(sumNode),
                  let (p, q) = c.binary(m, .mul) else { return nil }
            for (oh, ls) in [(p, q), (q, p)] {
                guard case .oneHot(let depth, let dt) = c.op(oh), case .logSoftmax(let axis) = c.op(ls) else { continue }
                let x = c.inputs(ls)[0], labels = c.inputs(oh)[0]
                let r = c.shape(x).rank
                guard r >= 1, axis == r - 1, c.shape(x).dims[r - 1] == depth, dt == c.dtype(x),
                      c.shape(oh) == c.shape(x), axes.contains(r - 1) else { continue }
                guard let sce = c.make(.softmaxCrossEntropy, [x, labels]) else { continue }
                let rest = axes.filter { $0 != r - 1 }
                var out = sce
                if !rest.isEmpty {
                    guard let red = c.make(.reduce(.sum, axes: rest, keepDims: keep), [sce]) else { continue }
                    out = red
                }
                if keep {
                    guard let e = c.make(.expandDims(axis: r - 1), [out]) else { continue }
                    out = e
                }
                return out
            }
            return nil
        },
    ]
}
