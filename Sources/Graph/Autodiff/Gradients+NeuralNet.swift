// Gradient rules of neural-net ops: softmax, logSoftmax, conv2d, pooling, softmax
// cross-entropy, and of their gradient helper ops (for higher order). dropout and
// batchNorm are composites of basic ops (Ops/NeuralNet.swift), so their gradients follow.

extension Autodiff {
    static func softmaxRule(_ axis: Int, _ c: GradientContext) -> [InputGradient] {
        c.each { _ in
            let y = c.y
            return .gradient(y * (c.g - (c.g * y).sum(axes: [axis], keepDims: true)))
        }
    }

    static func logSoftmaxRule(_ axis: Int, _ c: GradientContext) -> [InputGradient] {
        c.each { _ in .gradient(c.g - exp(c.y) * c.g.sum(axes: [axis], keepDims: true)) }
    }

    static func conv2dRule(_ cfg: Conv2DConfig, _ c: GradientContext) -> [InputGradient] {
        c.each { i in
            i == 0 ? .gradient(c.make(.conv2dBackwardInput(cfg), [c.g, c.x(1), c.x(0)]))
                   : .gradient(c.make(.conv2dBackwardFilter(cfg), [c.x(0), c.g, c.x(1)]))
        }
    }

    /// `conv2dBackwardInput(dy, w, like: x)` is bilinear in (dy, w): ⟨G, Bᵢ(dy, w)⟩ = ⟨dy, conv2d(G, w)⟩.
    static func conv2dBackwardInputRule(_ cfg: Conv2DConfig, _ c: GradientContext) -> [InputGradient] {
        c.each { i in
            switch i {
            case 0: return .gradient(c.make(.conv2d(cfg), [c.g, c.x(1)]))
            case 1: return .gradient(c.make(.conv2dBackwardFilter(cfg), [c.g, c.x(0), c.x(1)]))
            default: return .zero  // shape only
            }
        }
    }

    /// `conv2dBackwardFilter(x, dy, like: w)` is bilinear in (x, dy): ⟨G, B_f(x, dy)⟩ = ⟨dy, conv2d(x, G)⟩.
    static func conv2dBackwardFilterRule(_ cfg: Conv2DConfig, _ c: GradientContext) -> [InputGradient] {
        c.each { i in
            switch i {
            case 0: return .gradient(c.make(.conv2dBackwardInput(cfg), [c.x(1), c.g, c.x(0)]))
            case 1: return .gradient(c.make(.conv2d(cfg), [c.x(0), c.g]))
            default: return .zero  // shape only
            }
        }
    }

    /// `maxPool2dBackward(x, dy)` routes each window's `dy` to the first maximum of `x` in it.
    /// With the argmax positions held constant it is linear in `dy`; its adjoint picks, for every
    /// window, the cotangent at that position. Built from strided slices, one per window offset
    /// (row-major, first maximum wins), so it needs the spatial size of `x` known.
    static func maxPool2dBackwardRule(_ cfg: Pool2DConfig, _ c: GradientContext) throws -> [InputGradient] {
        guard c.needs[1] else { return [.zero, .zero] }
        let x = c.x(0), g = c.g
        guard x.rank == 4, let h = x.shape.dims[2], let w = x.shape.dims[3] else {
            throw c.error("differentiating maxPool2dBackward needs the spatial size of its input known, got \(x.shape)")
        }
        let ph = cfg.padding.resolve(inputLength: h, extent: cfg.kernelH, stride: cfg.strideH, axis: 0)
        let pw = cfg.padding.resolve(inputLength: w, extent: cfg.kernelW, stride: cfg.strideW, axis: 1)
        guard let oh = windowOutputLength(input: h, extent: cfg.kernelH, stride: cfg.strideH, padding: ph),
              let ow = windowOutputLength(input: w, extent: cfg.kernelW, stride: cfg.strideW, padding: pw) else {
            throw c.error("max pooling window does not fit input \(x.shape)")
        }
        let widths = [(0, 0), (0, 0), ph, pw]
        let padded = ph != (0, 0) || pw != (0, 0)
        let xp = padded ? x.padded(widths, value: -.infinity) : x
        let gp = padded ? g.padded(widths, value: 0) : g
        let ymax = c.make(.maxPool2d(cfg), [x])
        var result: Tensor? = nil
        var taken: Tensor? = nil
        for a in 0..<cfg.kernelH {
            for b in 0..<cfg.kernelW {
                let begin: [Int?] = [nil, nil, a, b]
                let end: [Int?] = [nil, nil, a + (oh - 1) * cfg.strideH + 1, b + (ow - 1) * cfg.strideW + 1]
                let strides = [1, 1, cfg.strideH, cfg.strideW]
                let xs = xp.slice(begin: begin, end: end, strides: strides)
                let gs = gp.slice(begin: begin, end: end, strides: strides)
                var hit = xs .== ymax
                if let t = taken { hit = hit .& logicalNot(t) }
                result = `where`(hit, gs, result ?? c.const(0))
                taken = taken.map { $0 .| hit } ?? hit
            }
        }
        guard let r = result else { return [.zero, .zero] }
        return [.zero, .gradient(r)]
    }

    static func softmaxCrossEntropyRule(_ c: GradientContext) throws -> [InputGradient] {
        try c.each { i in
            guard i == 0 else {
                return .nonDifferentiable("softmaxCrossEntropy is not differentiable with respect to its integer labels")
            }
            let logits = c.x(0)
            guard let classes = logits.shape.dims.last ?? nil else {
                throw c.error("the gradient of softmaxCrossEntropy needs the number of classes known, got logits \(logits.shape)")
            }
            let target = oneHot(c.x(1), depth: classes, dtype: logits.dtype)
            return .gradient(c.g.expandingDims(axis: -1) * (logits.softmax(axis: -1) - target))
        }
    }
}
