// Gradient rules of reductions (sum, mean, max, min, prod, logsumexp), with and without keepDims.
//
// The cotangent is first given back the reduced axes (size 1) and then broadcast to the
// input's run-time shape with broadcastLike, so unknown dimensions are fine.
// max/min: the gradient is shared equally among the elements equal to the extreme value.
// prod: exact also with zeros in the input (no division by zero).

extension Autodiff {
    /// `t` with the reduced axes put back as size-1 axes (a no-op when keepDims).
    static func keptDims(_ t: Tensor, _ axes: [Int], _ keep: Bool) -> Tensor {
        guard !keep else { return t }
        var r = t
        for a in axes.sorted() { r = r.expandingDims(axis: a) }
        return r
    }

    static func reduceRule(_ f: ReduceFunction, _ axes: [Int], _ keep: Bool, _ c: GradientContext) -> [InputGradient] {
        c.each { _ in
            let x = c.x(0)
            let gk = keptDims(c.g, axes, keep)
            let yk = keptDims(c.y, axes, keep)
            let spread = { (t: Tensor) in c.make(.broadcastLike, [t, x]) }
            switch f {
            case .sum:
                return .gradient(spread(gk))
            case .mean:
                let known = axes.map { x.shape.dims[$0] }
                if known.allSatisfy({ $0 != nil }) {
                    let n = known.reduce(1) { $0 * ($1 ?? 1) }
                    return .gradient(spread(gk * (1 / Double(Swift.max(n, 1)))))
                }
                // Unknown reduced size: count the elements at run time.
                let count = spread(c.const(1)).sum(axes: axes, keepDims: true)
                return .gradient(spread(gk / count))
            case .max, .min:
                let hit = `where`(x .== yk, spread(c.const(1)), c.const(0))
                let ties = hit.sum(axes: axes, keepDims: true)
                return .gradient(hit * (gk / ties))
            case .logsumexp:
                return .gradient(gk * exp(x - yk))
            case .prod:
                // Product of the other elements, without dividing by zero:
                // no zero: P / x; exactly one zero: P (at the zero), 0 elsewhere; more zeros: 0.
                let isZero = x .== 0
                let safe = `where`(isZero, c.const(1), x)
                let p = safe.prod(axes: axes, keepDims: true)
                let zeros = `where`(isZero, spread(c.const(1)), c.const(0)).sum(axes: axes, keepDims: true)
                let oneZeroHere = isZero .& (zeros .== 1)
                let others = `where`(zeros .== 0, p / safe, `where`(oneZeroHere, spread(p), c.const(0)))
                return .gradient(spread(gk) * others)
            }
        }
    }
}
