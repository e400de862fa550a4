// Gradient rules of the optimizer's fused ops (fused, fusedReduce, linear).
//
// Users normally differentiate before optimization, but a graph may contain these ops
// (built directly, or a graph rebuilt from an optimized program). Each is expanded back
// into the basic ops it stands for (the expansion nodes are part of the gradient graph)
// and that small expression is differentiated with the ordinary rules.

extension Autodiff {
    static func expandedRule(_ c: GradientContext) throws -> [InputGradient] {
        let floor = c.graph.nodeCount
        let expanded: Tensor
        switch c.node.op {
        case .fused(let p):
            expanded = try expand(p, c)
        case .fusedReduce(let f, let axes, let keep, let p):
            expanded = try expand(p, c).reduce(f, axes: axes, keepDims: keep)
        case .linear(let ta, let tb, let activation):
            let z = c.x(0).matmul(c.x(1), transposeA: ta, transposeB: tb) + c.x(2)
            expanded = activation.map { z.map($0) } ?? z
        default:
            throw c.error("internal: no expansion for \(c.node.op.name)")
        }
        let targets = c.inputs.indices.filter { c.needs[$0] }
        let inner = try traverse(c.graph, seeds: [(expanded, c.g)], wrt: targets.map { c.inputs[$0].id }, floor: floor)
        var results = [InputGradient](repeating: .zero, count: c.inputs.count)
        for (k, i) in targets.enumerated() {
            if let t = inner.gradients[k] { results[i] = .gradient(t) }
        }
        return results
    }

    /// The fused program's steps as ordinary nodes over the fused op's inputs.
    static func expand(_ p: FusedProgram, _ c: GradientContext) throws -> Tensor {
        var regs: [Tensor] = []
        func reg(_ k: Int) throws -> Tensor {
            guard k >= 0, k < regs.count else { throw c.error("fused program reads register \(k) before it is defined") }
            return regs[k]
        }
        for (i, step) in p.steps.enumerated() {
            let dtype = i < p.dtypes.count ? p.dtypes[i] : p.resultDType
            switch step {
            case .input(let k):
                guard k >= 0, k < c.inputs.count else { throw c.error("fused program reads input \(k) of \(c.inputs.count)") }
                regs.append(c.inputs[k])
            case .constant(let v): regs.append(c.const(v, dtype))
            case .unary(let f, let a): regs.append(try reg(a).map(f))
            case .binary(let f, let a, let b): regs.append(try reg(a).apply(f, try reg(b)))
            case .select(let cond, let a, let b): regs.append(`where`(try reg(cond), try reg(a), try reg(b)))
            case .cast(let d, let a): regs.append(try reg(a).cast(to: d))
            }
        }
        guard let out = regs.last else { throw c.error("empty fused program") }
        return out
    }
}
