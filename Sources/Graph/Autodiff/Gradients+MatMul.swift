// Gradient rule of matmul (with transpose flags, batched with broadcast leading axes).
//
// With C = op(A) op(B), dA and dB are matmuls of the cotangent with the other operand,
// the transposes again passed as flags (never materialized); batch axes that were
// broadcast are summed back with sumLike.

extension Autodiff {
    static func matmulRule(_ c: GradientContext, _ ta: Bool, _ tb: Bool) -> [InputGradient] {
        let g = c.g, a = c.x(0), b = c.x(1)
        func batch(_ s: Shape) -> Shape { Shape(Array(s.dims.dropLast(Swift.min(2, s.rank)))) }
        func fit(_ t: Tensor, _ i: Int) -> Tensor {
            let other = c.inputs[1 - i].shape
            return mayBroadcast(batch(c.inputs[i].shape), others: [batch(other)], out: batch(c.y.shape))
                ? c.make(.sumLike, [t, c.inputs[i]]) : t
        }
        return c.each { i in
            let r: Tensor
            if i == 0 {
                switch (ta, tb) {
                case (false, false): r = g.matmul(b, transposeB: true)                    // g Bᵀ
                case (false, true): r = g.matmul(b)                                       // g B
                case (true, false): r = b.matmul(g, transposeB: true)                     // B gᵀ
                case (true, true): r = b.matmul(g, transposeA: true, transposeB: true)    // Bᵀ gᵀ
                }
            } else {
                switch (ta, tb) {
                case (false, false): r = a.matmul(g, transposeA: true)                    // Aᵀ g
                case (false, true): r = g.matmul(a, transposeA: true)                     // gᵀ A
                case (true, false): r = a.matmul(g)                                       // A g
                case (true, true): r = g.matmul(a, transposeA: true, transposeB: true)    // gᵀ Aᵀ
                }
            }
            return .gradient(fit(r, i))
        }
    }
}
