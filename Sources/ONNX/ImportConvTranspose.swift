import Graph

// ConvTranspose as the gradient of a convolution with respect to its input: the IR's
// `conv2dBackwardInput` (the op autodiff makes for conv2d) computes exactly the transposed
// convolution, so no new kernel is needed.

extension NodeContext {
    func convTransposeOp() throws -> Tensor {
        let x0 = try input(0), w0 = try input(1)
        let r = x0.rank - 2
        guard r == 1 || r == 2, w0.rank == x0.rank else {
            throw fail("only 1-D and 2-D transposed convolutions are supported, got \(x0.shape) and \(w0.shape)")
        }
        guard x0.dtype.isFloatingPoint else { throw fail("needs a floating-point input, got \(x0.dtype)") }
        let spatial = Array(x0.shape.dims.dropFirst(2))
        guard let inSizes = Shape(spatial).known else { throw fail("needs known spatial dimensions, got \(x0.shape)") }
        let kernel = try ints("kernel_shape") ?? w0.shape.dims.dropFirst(2).map { $0 ?? -1 }
        guard kernel.count == r else { throw fail("kernel_shape \(kernel) does not match \(r) spatial axes") }
        let k = try windowParams(kernel, "kernel_shape", min: 1)
        let s = try windowParams(try ints("strides") ?? Array(repeating: 1, count: r), "strides", min: 1)
        let d = try windowParams(try ints("dilations") ?? Array(repeating: 1, count: r), "dilations", min: 1)
        let outPad = try windowParams(try ints("output_padding") ?? Array(repeating: 0, count: r), "output_padding", min: 0)
        guard s.count == r, d.count == r, outPad.count == r else { throw fail("strides/dilations/output_padding need \(r) values") }
        for i in 0..<r where outPad[i] >= Swift.max(s[i], d[i]) {
            throw fail("output_padding \(outPad) must be smaller than the stride or the dilation")
        }
        // Padding (begin, end) per axis: explicit pads, or from output_shape / auto_pad.
        let ext = (0..<r).map { (k[$0] - 1) * d[$0] + 1 }
        let full = (0..<r).map { s[$0] * (inSizes[$0] - 1) + outPad[$0] + ext[$0] }
        var begin = [Int](repeating: 0, count: r), end = begin, extra = begin
        let autoPad = try string("auto_pad", "NOTSET")
        var target = try ints("output_shape")
        if let t = target, t.count > r { target = Array(t.suffix(r)) }
        if target == nil, autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" { target = (0..<r).map { inSizes[$0] * s[$0] } }
        if let t = target {
            guard t.count == r else { throw fail("output_shape \(t) needs \(r) spatial sizes") }
            for i in 0..<r {
                let total = full[i] - t[i]
                // A larger output_shape adds zero rows at the end (as onnxruntime and the reference do).
                guard total >= 0 else { extra[i] = -total; continue }
                let half = total / 2
                (begin[i], end[i]) = autoPad == "SAME_LOWER" ? (total - half, half) : (half, total - half)
            }
        } else if let p = try ints("pads") {
            guard p.count == 2 * r, p.allSatisfy({ $0 >= 0 }) else { throw fail("pads \(p) must be \(2 * r) non-negative values") }
            begin = Array(p[0..<r]); end = Array(p[r...])
        }
        let outSizes = (0..<r).map { full[$0] - begin[$0] - end[$0] }
        guard outSizes.allSatisfy({ $0 > 0 }) else { throw fail("the padding leaves an empty output (\(outSizes))") }
        let group = try int("group", 1)
        guard group >= 1, let cin = x0.shape.dims[1], let coutPerGroup = w0.shape.dims[1], cin % group == 0,
              w0.shape.dims[0] == cin else {
            throw fail("needs a filter of shape [C_in, C_out / group, …] with known channels (input \(x0.shape), filter \(w0.shape), group \(group))")
        }
        let x = try to2D(x0), w = try to2D(w0)
        let cfg = Conv2DConfig(strides: r == 1 ? (1, s[0]) : (s[0], s[1]),
                               padding: r == 1 ? .explicit(top: 0, bottom: 0, left: begin[0], right: end[0])
                                               : .explicit(top: begin[0], bottom: end[0], left: begin[1], right: end[1]),
                               dilation: r == 1 ? (1, d[0]) : (d[0], d[1]))
        // The shape the result takes, with the batch dimension of x (possibly unknown).
        let sizes2D = r == 1 ? [1, outSizes[0]] : outSizes
        let zeros = g.constant(HostTensor(zeros: x.dtype, shape: [1, coutPerGroup] + sizes2D))
        let like = x.slice(begin: [nil, 0, 0, 0], end: [nil, 1, 1, 1]) * scalar(0, x.dtype) + zeros
        func transposed(_ x: Tensor, _ w: Tensor) -> Tensor {
            g.addNode(.conv2dBackwardInput(cfg), inputs: [x, w, like], location: location)
        }
        var y: Tensor
        if group == 1 {
            y = transposed(x, w)
        } else {
            let xs = x.split(count: group, axis: 1), ws = w.split(count: group, axis: 0)
            y = concat(zip(xs, ws).map { transposed($0, $1) }, axis: 1)
        }
        if extra.contains(where: { $0 > 0 }) {
            let e = r == 1 ? [0, extra[0]] : extra
            y = y.padded([(0, 0), (0, 0), (0, e[0]), (0, e[1])], value: 0)
        }
        if let b = try optInput(2) { y = y + b.reshaped([1, -1, 1, 1]) }
        if r == 1 { y = y.squeezed(axes: [2]) }
        return try checkResult(y)
    }
}
