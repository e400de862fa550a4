// Gradient rules of shape ops (transpose, concat, gather, pad, tile; reshape, squeeze,
// expandDims, broadcastTo and slice are one-liners in Gradients.swift) and of the
// gradient helper ops, so gradient graphs can be differentiated again:
// broadcastLike and sumLike are adjoint, reshapeLike is its own adjoint,
// sliceBackward is adjoint to slice, gatherBackward to gather.

extension Autodiff {
    static func transposeRule(_ perm: [Int], _ c: GradientContext) -> [InputGradient] {
        var inverse = [Int](repeating: 0, count: perm.count)
        for (i, p) in perm.enumerated() where p >= 0 && p < perm.count { inverse[p] = i }
        return c.each { _ in .gradient(c.g.transposed(inverse)) }
    }

    /// Slices of the cotangent. Offsets count from the start before an input of unknown length
    /// and from the end after it, so one input may have an unknown length on the axis.
    static func concatRule(_ axis: Int, _ c: GradientContext) throws -> [InputGradient] {
        let lengths = c.inputs.map { $0.shape.dims[axis] }
        let unknown = lengths.indices.filter { lengths[$0] == nil }
        guard unknown.count <= 1 else {
            throw c.error("the gradient of concat needs the length of axis \(axis) of all but one input; inputs \(unknown) "
                          + "have unknown lengths (\(unknown.map { c.inputs[$0].shape.description }.joined(separator: ", ")))")
        }
        let pivot = unknown.first ?? c.inputs.count
        func known(_ r: Range<Int>) -> Int { r.reduce(0) { $0 + (lengths[$1] ?? 0) } }
        return c.each { i in
            var b = [Int?](repeating: nil, count: axis + 1), e = b
            if i < pivot {
                b[axis] = known(0..<i)
                e[axis] = known(0..<(i + 1))
            } else {
                // Counted from the end: [-(lengths from i on), -(lengths after i)).
                let after = known((i + 1)..<c.inputs.count)
                b[axis] = i == pivot ? known(0..<i) : -(after + (lengths[i] ?? 0))
                e[axis] = after == 0 ? nil : -after
            }
            return .gradient(c.g.slice(begin: b, end: e))
        }
    }

    static func gatherRule(_ axis: Int, _ c: GradientContext) -> [InputGradient] {
        c.each { i in
            i == 0 ? .gradient(c.make(.gatherBackward(axis: axis), [c.g, c.x(1), c.x(0)]))
                   : .nonDifferentiable("gather is not differentiable with respect to its indices")
        }
    }

    static func gatherBackwardRule(_ axis: Int, _ c: GradientContext) -> [InputGradient] {
        c.each { i in
            switch i {
            case 0: return .gradient(c.g.gather(c.x(1), axis: axis))
            case 1: return .nonDifferentiable("gatherBackward is not differentiable with respect to its indices")
            default: return .zero  // shape only
            }
        }
    }

    static func padRule(_ widths: [PadWidth], _ c: GradientContext) -> [InputGradient] {
        c.each { _ in
            let begin: [Int?] = widths.map { $0.before }
            let end: [Int?] = widths.map { $0.after == 0 ? nil : -$0.after }
            return .gradient(c.g.slice(begin: begin, end: end))
        }
    }

    static func tileRule(_ m: [Int], _ c: GradientContext) throws -> [InputGradient] {
        guard c.needs[0] else { return [.zero] }
        let x = c.x(0)
        if m.allSatisfy({ $0 == 1 }) { return [.gradient(c.g)] }
        // tiled[k * d + i] = x[i]: view each tiled axis as (multiple, length) and sum the multiples.
        let dims = x.shape.dims
        guard dims.filter({ $0 == nil }).count <= 1 else {
            throw c.error("the gradient of tile needs all but one dimension of its input known, got \(x.shape)")
        }
        var split: [Int] = []
        var sumAxes: [Int] = []
        for (i, d) in dims.enumerated() {
            sumAxes.append(split.count)
            split += [m[i], d ?? -1]
        }
        let r = c.g.reshaped(split).sum(axes: sumAxes)
        return [.gradient(c.make(.reshapeLike, [r, x]))]
    }
}
