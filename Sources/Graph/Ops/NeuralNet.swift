// Neural-net ops: softmax, logSoftmax, conv2d, pooling, oneHot, softmax cross-entropy,
// and the composites dropout and batchNorm.

extension Padding {
    /// Resolves the padding of one spatial axis: (before, after) for an input length,
    /// window extent (kernel with dilation) and stride.
    public func resolve(inputLength n: Int, extent k: Int, stride s: Int, axis: Int) -> (Int, Int) {
        switch self {
        case .valid: return (0, 0)
        case .same:
            guard s > 0 else { return (0, 0) }   // a bad stride is reported by the op's inference
            let out = (n + s - 1) / s
            let total = Swift.max((out - 1) * s + k - n, 0)
            return (total / 2, total - total / 2)
        case .explicit(let t, let b, let l, let r): return axis == 0 ? (t, b) : (l, r)
        }
    }
}

/// Output length of a window op on one axis, or nil when the configuration is impossible.
public func windowOutputLength(input n: Int, extent k: Int, stride s: Int, padding: (Int, Int)) -> Int? {
    let span = n + padding.0 + padding.1 - k
    guard s > 0, span >= 0 else { return nil }
    return span / s + 1
}

extension Inference {
    static func softmax(_ x: In, _ axis: Int) throws -> TypeInfo {
        guard axis >= 0, axis < x.1.rank else { throw fail("axis \(axis) is out of range for rank \(x.1.rank)", x.0, x.1) }
        guard x.0.isFloatingPoint else { throw fail("softmax needs a floating-point input, got \(x.0)", x.0, x.1) }
        return TypeInfo(x.0, x.1)
    }

    static func spatial(_ n: Int?, extent k: Int, stride s: Int, padding: Padding, axis: Int, what: String) throws -> Int? {
        guard let n else { return nil }
        let p = padding.resolve(inputLength: n, extent: k, stride: s, axis: axis)
        guard p.0 >= 0, p.1 >= 0, let out = windowOutputLength(input: n, extent: k, stride: s, padding: p) else {
            throw fail("\(what) window of extent \(k) does not fit input length \(n) with padding \(p)")
        }
        return out
    }

    static func conv2d(_ x: In, _ w: In, _ c: Conv2DConfig) throws -> TypeInfo {
        guard x.0 == w.0, x.0.isFloatingPoint else { throw fail("conv2d needs matching floating-point inputs, got \(x.0) and \(w.0)", x.0) }
        guard x.1.rank == 4, w.1.rank == 4 else {
            throw fail("conv2d needs an NCHW input and an OIHW filter (rank 4), got \(x.1) and \(w.1)", x.0)
        }
        guard c.strideH > 0, c.strideW > 0, c.dilationH > 0, c.dilationW > 0 else {
            throw fail("conv2d strides and dilations must be positive", x.0)
        }
        if case .explicit(let t, let b, let l, let r) = c.padding, [t, b, l, r].contains(where: { $0 < 0 }) {
            throw fail("conv2d padding must be ≥ 0", x.0)
        }
        _ = try unify(x.1.dims[1], w.1.dims[1], "input has \(x.1.dims[1] ?? 0) channels, the filter expects \(w.1.dims[1] ?? 0)")
        guard let kh = w.1.dims[2], let kw = w.1.dims[3] else { throw fail("conv2d filter size must be known", x.0) }
        let eh = (kh - 1) * c.dilationH + 1, ew = (kw - 1) * c.dilationW + 1
        let oh = try spatial(x.1.dims[2], extent: eh, stride: c.strideH, padding: c.padding, axis: 0, what: "conv2d")
        let ow = try spatial(x.1.dims[3], extent: ew, stride: c.strideW, padding: c.padding, axis: 1, what: "conv2d")
        return TypeInfo(x.0, Shape([x.1.dims[0], w.1.dims[0], oh, ow]))
    }

    static func pool2d(_ x: In, _ c: Pool2DConfig) throws -> TypeInfo {
        guard x.0.isFloatingPoint else { throw fail("pooling needs a floating-point input, got \(x.0)", x.0) }
        guard x.1.rank == 4 else { throw fail("pooling needs an NCHW input (rank 4), got \(x.1)", x.0) }
        guard c.kernelH > 0, c.kernelW > 0, c.strideH > 0, c.strideW > 0 else {
            throw fail("pooling kernel and strides must be positive", x.0)
        }
        let oh = try spatial(x.1.dims[2], extent: c.kernelH, stride: c.strideH, padding: c.padding, axis: 0, what: "pooling")
        let ow = try spatial(x.1.dims[3], extent: c.kernelW, stride: c.strideW, padding: c.padding, axis: 1, what: "pooling")
        return TypeInfo(x.0, Shape([x.1.dims[0], x.1.dims[1], oh, ow]))
    }

    static func oneHot(_ x: In, _ depth: Int, _ dtype: DType) throws -> TypeInfo {
        guard x.0.isInteger else { throw fail("oneHot needs integer indices, got \(x.0)", dtype) }
        guard depth > 0 else { throw fail("oneHot depth must be positive, got \(depth)", dtype) }
        return TypeInfo(dtype, Shape(x.1.dims + [depth]))
    }

    static func softmaxCrossEntropy(_ logits: In, _ labels: In) throws -> TypeInfo {
        guard logits.0.isFloatingPoint else { throw fail("logits must be floating point, got \(logits.0)", logits.0) }
        guard labels.0.isInteger else { throw fail("labels must be int32 or int64 class indices, got \(labels.0)", logits.0) }
        guard logits.1.rank >= 1, labels.1.rank == logits.1.rank - 1 else {
            throw fail("labels \(labels.1) must have the shape of logits \(logits.1) without its last axis", logits.0)
        }
        var out: [Int?] = []
        for i in 0..<labels.1.rank {
            out.append(try unify(logits.1.dims[i], labels.1.dims[i], "labels \(labels.1) do not match logits \(logits.1)"))
        }
        return TypeInfo(logits.0, Shape(out))
    }

    static func random(_ d: RandomDistribution, _ shape: [Int?], _ ins: [In]) throws -> TypeInfo {
        guard ins.count <= 1 else { throw fail("random takes at most one shape input") }
        if let like = ins.first { return TypeInfo(.float32, like.1) }
        guard shape.allSatisfy({ $0 != nil && $0! >= 0 }) else {
            throw fail("random needs a known non-negative shape or an input to copy the shape of, got \(Shape(shape))", .float32)
        }
        return TypeInfo(.float32, Shape(shape))
    }

    static func assign(_ v: In, _ value: In) throws -> TypeInfo {
        guard v.0 == value.0 else { throw fail("cannot assign \(value.0) to a \(v.0) variable", v.0, v.1) }
        if let vk = v.1.known, let b = Shape.broadcast(v.1, value.1), b.known.map({ $0 != vk }) ?? (b.rank != v.1.rank) {
            throw fail("cannot assign a value of shape \(value.1) to a variable of shape \(v.1)", v.0, v.1)
        }
        if Shape.broadcast(v.1, value.1) == nil {
            throw fail("cannot assign a value of shape \(value.1) to a variable of shape \(v.1)", v.0, v.1)
        }
        return TypeInfo(v.0, v.1)
    }
}

extension Tensor {
    /// Softmax along `axis` (computed stably).
    public func softmax(axis: Int = -1, file: String = #fileID, line: Int = #line) -> Tensor {
        make(.softmax(axis: normalizeAxis(axis, rank: rank) ?? axis), [self], SourceLocation(file: file, line: line))
    }
    /// Log-softmax along `axis` (computed stably).
    public func logSoftmax(axis: Int = -1, file: String = #fileID, line: Int = #line) -> Tensor {
        make(.logSoftmax(axis: normalizeAxis(axis, rank: rank) ?? axis), [self], SourceLocation(file: file, line: line))
    }
}

/// Softmax along `axis`.
public func softmax(_ x: Tensor, axis: Int = -1, file: String = #fileID, line: Int = #line) -> Tensor {
    x.softmax(axis: axis, file: file, line: line)
}
/// Log-softmax along `axis`.
public func logSoftmax(_ x: Tensor, axis: Int = -1, file: String = #fileID, line: Int = #line) -> Tensor {
    x.logSoftmax(axis: axis, file: file, line: line)
}

/// 2-D convolution (cross-correlation, no kernel flip) of an NCHW input with an OIHW filter.
public func conv2d(_ x: Tensor, filter: Tensor, strides: (Int, Int) = (1, 1), padding: Padding = .valid,
                   dilation: (Int, Int) = (1, 1), file: String = #fileID, line: Int = #line) -> Tensor {
    x.make(.conv2d(Conv2DConfig(strides: strides, padding: padding, dilation: dilation)), [x, filter],
           SourceLocation(file: file, line: line))
}

/// Max pooling over NCHW windows (stride defaults to the window size).
public func maxPool2d(_ x: Tensor, kernel: (Int, Int), strides: (Int, Int)? = nil, padding: Padding = .valid,
                      file: String = #fileID, line: Int = #line) -> Tensor {
    x.make(.maxPool2d(Pool2DConfig(kernel: kernel, strides: strides, padding: padding)), [x], SourceLocation(file: file, line: line))
}

/// Average pooling over NCHW windows; padded positions are not counted in the average.
public func avgPool2d(_ x: Tensor, kernel: (Int, Int), strides: (Int, Int)? = nil, padding: Padding = .valid,
                      file: String = #fileID, line: Int = #line) -> Tensor {
    x.make(.avgPool2d(Pool2DConfig(kernel: kernel, strides: strides, padding: padding)), [x], SourceLocation(file: file, line: line))
}

/// One-hot rows of `depth` for integer `indices` (out-of-range indices give zero rows).
public func oneHot(_ indices: Tensor, depth: Int, dtype: DType = .float32, file: String = #fileID, line: Int = #line) -> Tensor {
    indices.make(.oneHot(depth: depth, dtype: dtype), [indices], SourceLocation(file: file, line: line))
}

/// Per-row softmax cross-entropy of `logits` (…, C) against integer class `labels` (…):
/// `logsumexp(logits) - logits[label]`, computed stably in one op.
public func softmaxCrossEntropy(logits: Tensor, labels: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    logits.make(.softmaxCrossEntropy, [logits, labels], SourceLocation(file: file, line: line))
}

/// Inverted dropout: in training, zeroes each element with probability `rate` and scales the
/// rest by `1 / (1 - rate)`; otherwise the identity. Each run draws a new mask (seeded).
public func dropout(_ x: Tensor, rate: Double, training: Bool, seed: UInt64 = 0,
                    file: String = #fileID, line: Int = #line) -> Tensor {
    let loc = SourceLocation(file: file, line: line)
    if !(rate >= 0 && rate < 1) {
        let t = x.make(.identity, [x], name: "dropout", loc)
        x.graph.record(Diagnostic(nodeName: t.name, op: "dropout", inputs: ["\(x.name): \(x.dtype.shortName)\(x.shape)"],
                                  message: "dropout rate must be in [0, 1), got \(rate)", location: loc),
                       invalidating: t)
        return t
    }
    guard training, rate > 0 else { return x.make(.identity, [x], name: "dropout", loc) }
    return x.graph.withScope("dropout") {
        let u = x.make(.random(.uniform(low: 0, high: 1), seed: seed, shape: x.shape.dims), [x], name: "mask_uniform", loc)
        let keep = u.make(.binary(.greaterEqual), [u, x.graph.constant(rate, dtype: .float32, location: loc)], name: "keep", loc)
        let scale = x.scalar(1 / (1 - rate), loc)
        let mask = keep.make(.select, [keep, scale, x.scalar(0, loc)], name: "mask", loc)
        return x.make(.binary(.mul), [x, mask], name: "dropout", loc)
    }
}

/// Batch normalization over `axes` (default: all but axis 1, the channels of NC or NCHW).
///
/// In training it normalizes with the batch's mean and (biased) variance; otherwise
/// with `runningMean`/`runningVariance` (tensors broadcastable to `x`'s reduced shape,
/// typically variables). `gamma`/`beta` scale and shift.
public func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor? = nil, runningVariance: Tensor? = nil,
                      axes: [Int]? = nil, training: Bool, epsilon: Double = 1e-5,
                      file: String = #fileID, line: Int = #line) -> Tensor {
    let loc = SourceLocation(file: file, line: line)
    let red = axes.map { $0.map { normalizeAxis($0, rank: x.rank) ?? $0 } } ?? (0..<x.rank).filter { $0 != 1 }
    return x.graph.withScope("batchNorm") {
        x.graph.withLocation(loc) {
            let mean: Tensor, variance: Tensor
            let shape = x.shape.dims.enumerated().map { red.contains($0.offset) ? 1 : ($0.element ?? -1) }
            if !training, let rm = runningMean, let rv = runningVariance {
                mean = rm.reshaped(shape)
                variance = rv.reshaped(shape)
            } else {
                mean = x.mean(axes: red, keepDims: true)
                let centered = x - mean
                variance = (centered * centered).mean(axes: red, keepDims: true)
            }
            let inv = rsqrt(variance + epsilon)
            return (x - mean) * inv * gamma.reshaped(shape) + beta.reshaped(shape)
        }
    }
}

extension Graph {
    /// Uniform random numbers in `[low, high)` of a known shape; a new draw each run, reproducible per seed.
    public func randomUniform(shape: [Int], low: Double = 0, high: Double = 1, seed: UInt64 = 0,
                              file: String = #fileID, line: Int = #line) -> Tensor {
        addNode(.random(.uniform(low: low, high: high), seed: seed, shape: shape.map { $0 }), inputs: [],
                location: SourceLocation(file: file, line: line))
    }
    /// Normal random numbers of a known shape; a new draw each run, reproducible per seed.
    public func randomNormal(shape: [Int], mean: Double = 0, std: Double = 1, seed: UInt64 = 0,
                             file: String = #fileID, line: Int = #line) -> Tensor {
        addNode(.random(.normal(mean: mean, std: std), seed: seed, shape: shape.map { $0 }), inputs: [],
                location: SourceLocation(file: file, line: line))
    }
}

extension Tensor {
    /// Sets this variable to `value` when run; gives the new value.
    public func assign(_ value: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        stateUpdate(.assign, value, SourceLocation(file: file, line: line))
    }
    /// Adds `value` to this variable when run; gives the new value.
    public func assignAdd(_ value: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        stateUpdate(.add, value, SourceLocation(file: file, line: line))
    }
    /// Subtracts `value` from this variable when run; gives the new value.
    public func assignSub(_ value: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        stateUpdate(.sub, value, SourceLocation(file: file, line: line))
    }

    private func stateUpdate(_ mode: AssignMode, _ value: Tensor, _ loc: SourceLocation) -> Tensor {
        let t = make(.assign(mode), [self, value], loc)
        if case .variable = node.op {} else {
            graph.record(Diagnostic(nodeName: t.name, op: t.node.op.name, inputs: ["\(name): \(node.op.name)"],
                                    message: "only a variable can be assigned to; '\(name)' is a \(node.op.name)", location: loc),
                         invalidating: t)
        }
        return t
    }
}
