/// An elementwise function of one argument.
public enum UnaryFunction: Hashable, Sendable {
    case neg, abs, sign, exp, log, log1p, expm1, sqrt, rsqrt, square, reciprocal
    case sin, cos, tanh, sigmoid, relu
    /// `x > 0 ? x : alpha * x`
    case leakyRelu(alpha: Double)
    /// `x > 0 ? x : alpha * (exp(x) - 1)`
    case elu(alpha: Double)
    case softplus, erf
    /// The exact GELU, `0.5 * x * (1 + erf(x / sqrt(2)))`.
    case gelu
    case floor, ceil
    /// Round half to even (IEEE `rint`), as NumPy does.
    case round
    /// Logical negation of a bool tensor.
    case logicalNot
    /// Bitwise complement of an integer tensor.
    case bitwiseNot
    /// The value a cast to a narrower storage type and back gives: floats rounded to a narrow
    /// float format, integers wrapped to a narrow integer type (see ``NarrowFormat``).
    case narrow(NarrowFormat)

    /// The function's name in dumps and diagrams.
    public var name: String {
        switch self {
        case .leakyRelu(let a): return "leakyRelu(\(a))"
        case .elu(let a): return "elu(\(a))"
        case .narrow(let f): return "narrow(\(f))"
        default: return baseName
        }
    }

    /// The function's name without its parameters (`leakyRelu`, `exp`, …).
    public var baseName: String {
        switch self {
        case .neg: return "neg"
        case .abs: return "abs"
        case .sign: return "sign"
        case .exp: return "exp"
        case .log: return "log"
        case .log1p: return "log1p"
        case .expm1: return "expm1"
        case .sqrt: return "sqrt"
        case .rsqrt: return "rsqrt"
        case .square: return "square"
        case .reciprocal: return "reciprocal"
        case .sin: return "sin"
        case .cos: return "cos"
        case .tanh: return "tanh"
        case .sigmoid: return "sigmoid"
        case .relu: return "relu"
        case .leakyRelu: return "leakyRelu"
        case .elu: return "elu"
        case .softplus: return "softplus"
        case .erf: return "erf"
        case .gelu: return "gelu"
        case .floor: return "floor"
        case .ceil: return "ceil"
        case .round: return "round"
        case .logicalNot: return "logicalNot"
        case .bitwiseNot: return "bitwiseNot"
        case .narrow: return "narrow"
        }
    }

    /// Functions whose derivative is zero almost everywhere or undefined (no gradient flows).
    public var isDifferentiable: Bool {
        switch self {
        case .sign, .floor, .ceil, .round, .logicalNot, .bitwiseNot: return false
        case .narrow(let f): return f.kind.isFloatingPoint
        default: return true
        }
    }
}

/// An elementwise function of two broadcast arguments.
public enum BinaryFunction: String, Hashable, Sendable, CaseIterable {
    case add, sub, mul, div, pow, maximum, minimum
    case equal, notEqual, less, lessEqual, greater, greaterEqual
    case logicalAnd, logicalOr
    /// Bitwise operations on the two's-complement bits of integers. Shifts move the bits of the
    /// first operand by the second (left: wrapping; right: logical, zeros shifted in); a count
    /// outside 0 ..< the dtype's width gives 0.
    case bitwiseAnd, bitwiseOr, bitwiseXor, shiftLeft, shiftRight

    /// Bitwise operations (integers only).
    public var isBitwise: Bool {
        switch self {
        case .bitwiseAnd, .bitwiseOr, .bitwiseXor, .shiftLeft, .shiftRight: return true
        default: return false
        }
    }

    /// Comparisons give `bool`.
    public var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: return true
        default: return false
        }
    }
    /// `logicalAnd`, `logicalOr` take and give `bool`.
    public var isLogical: Bool { self == .logicalAnd || self == .logicalOr }
    /// Whether `f(a, b) == f(b, a)`.
    public var isCommutative: Bool {
        switch self {
        case .add, .mul, .maximum, .minimum, .equal, .notEqual, .logicalAnd, .logicalOr, .bitwiseAnd, .bitwiseOr, .bitwiseXor: return true
        default: return false
        }
    }
}

/// A reduction over axes.
public enum ReduceFunction: String, Hashable, Sendable, CaseIterable {
    case sum, mean, max, min, prod, logsumexp
}

/// Which index a reduction returns.
public enum ArgReduceFunction: String, Hashable, Sendable { case argmax, argmin }

/// Spatial padding of a convolution or pooling window.
public enum Padding: Hashable, Sendable {
    /// No padding: the window stays inside the input.
    case valid
    /// Output size `ceil(input / stride)`, padding split evenly (the extra on the bottom/right), as TensorFlow does.
    case same
    /// Explicit zero padding.
    case explicit(top: Int, bottom: Int, left: Int, right: Int)
}

/// Configuration of a 2-D convolution (NCHW input, OIHW filter).
public struct Conv2DConfig: Hashable, Sendable {
    public var strides: (Int, Int) { (strideH, strideW) }
    public var strideH: Int, strideW: Int
    public var padding: Padding
    public var dilationH: Int, dilationW: Int
    /// Creates a configuration.
    public init(strides: (Int, Int) = (1, 1), padding: Padding = .valid, dilation: (Int, Int) = (1, 1)) {
        strideH = strides.0; strideW = strides.1
        self.padding = padding
        dilationH = dilation.0; dilationW = dilation.1
    }
}

/// Configuration of a 2-D pooling window (NCHW input).
public struct Pool2DConfig: Hashable, Sendable {
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var padding: Padding
    /// Creates a configuration; the stride defaults to the kernel size.
    public init(kernel: (Int, Int), strides: (Int, Int)? = nil, padding: Padding = .valid) {
        kernelH = kernel.0; kernelW = kernel.1
        strideH = strides?.0 ?? kernel.0; strideW = strides?.1 ?? kernel.1
        self.padding = padding
    }
}

/// Per-axis slicing, NumPy style. `nil` bounds mean "from the start"/"to the end"
/// (for negative strides, the reverse); negative bounds count from the end.
public struct SliceSpec: Hashable, Sendable {
    public var begin: [Int?]
    public var end: [Int?]
    public var stride: [Int]
    /// Creates a slice over the leading `begin.count` axes.
    public init(begin: [Int?], end: [Int?], stride: [Int]? = nil) {
        self.begin = begin
        self.end = end
        self.stride = stride ?? Array(repeating: 1, count: begin.count)
    }

    /// Resolves the slice on one axis of length `n`: the start index and element count.
    public func resolve(axis: Int, length n: Int) -> (start: Int, count: Int) {
        // Axes past the spec, and malformed specs (reported by the slice op's inference), take the whole axis.
        guard axis < begin.count, axis < end.count, axis < stride.count, stride[axis] != 0 else { return (0, n) }
        let s = stride[axis]
        func clampIndex(_ v: Int, lo: Int, hi: Int) -> Int { Swift.min(Swift.max(v, lo), hi) }
        if s > 0 {
            var b = begin[axis] ?? 0
            var e = end[axis] ?? n
            if b < 0 { b += n }
            if e < 0 { e += n }
            b = clampIndex(b, lo: 0, hi: n)
            e = clampIndex(e, lo: 0, hi: n)
            return (b, e > b ? (e - b + s - 1) / s : 0)
        } else {
            var b = begin[axis] ?? (n - 1)
            var e = end[axis] ?? -n - 1
            if b < 0 { b += n }
            if e < 0 { e += n }
            b = clampIndex(b, lo: -1, hi: n - 1)
            e = clampIndex(e, lo: -1, hi: n - 1)
            return (b, b > e ? (b - e + (-s) - 1) / (-s) : 0)
        }
    }
}

/// How a state op changes its variable.
public enum AssignMode: String, Hashable, Sendable { case assign, add, sub }

/// How a variable gets its first value. Random initializers are counter-based
/// (a hash of the element index and the seed), so a seed gives the same numbers on
/// every run and every machine.
public enum Initializer: Hashable, Sendable {
    case zeros, ones
    case constant(Double)
    /// Uniform in `[low, high)`.
    case uniform(low: Double, high: Double)
    case normal(mean: Double, std: Double)
    /// Uniform in ±sqrt(6 / (fanIn + fanOut)).
    case glorotUniform
    /// Normal with std sqrt(2 / (fanIn + fanOut)).
    case glorotNormal
    /// Uniform in ±sqrt(6 / fanIn).
    case heUniform
    /// Normal with std sqrt(2 / fanIn).
    case heNormal
    /// An explicit value (its shape must match the variable's).
    case value(HostTensor)
}

/// The random distributions of random ops.
public enum RandomDistribution: Hashable, Sendable {
    case uniform(low: Double, high: Double)
    case normal(mean: Double, std: Double)
}

/// What a node computes. One case per op (or op family with a function parameter).
///
/// Shape and dtype inference live in `Op+Inference.swift`; gradient rules in
/// `Autodiff/`; kernels in the Runtime module. Switches over `Op` are exhaustive so
/// the compiler finds every place a new op must be handled.
public enum Op: Hashable, Sendable {
    // MARK: Sources
    /// A value fed at run time.
    case placeholder
    /// Session state, initialized once from `initializer`; `seed` drives random initializers.
    case variable(Initializer, seed: UInt64)
    /// A constant value.
    case constant(HostTensor)

    // MARK: Elementwise
    case unary(UnaryFunction)
    case binary(BinaryFunction)
    /// `where(cond, a, b)`: inputs [cond (bool), a, b], broadcast.
    case select
    /// Conversion to another dtype.
    case cast(DType)
    /// Passes its input through.
    case identity
    /// Identity whose gradient is zero.
    case stopGradient

    // MARK: Linear algebra
    /// Matrix product of the last two axes (leading axes broadcast as a batch).
    case matmul(transposeA: Bool, transposeB: Bool)

    // MARK: Reductions (axes normalized: non-negative, sorted, unique)
    case reduce(ReduceFunction, axes: [Int], keepDims: Bool)
    case argReduce(ArgReduceFunction, axis: Int, keepDims: Bool)

    // MARK: Shape
    /// Reshape; one `-1` dimension is inferred.
    case reshape([Int])
    /// Axis permutation.
    case transpose([Int])
    /// NumPy broadcast to a known shape.
    case broadcastTo([Int])
    case squeeze(axes: [Int])
    case expandDims(axis: Int)
    case concat(axis: Int)
    case slice(SliceSpec)
    /// Inputs [params, indices (integer)]: `params` indexed along `axis`.
    case gather(axis: Int)
    /// Constant padding; one (before, after) pair per axis.
    case pad([PadWidth], value: Double)
    case tile([Int])

    // MARK: Neural-net
    case softmax(axis: Int)
    case logSoftmax(axis: Int)
    /// Inputs [x (N,C,H,W), filter (O,C,KH,KW)].
    case conv2d(Conv2DConfig)
    case maxPool2d(Pool2DConfig)
    case avgPool2d(Pool2DConfig)
    /// Integer indices to one-hot rows of `dtype`; out-of-range indices give zero rows.
    case oneHot(depth: Int, dtype: DType)
    /// Inputs [logits (…, C), labels (…) integer]: per-row `logsumexp(logits) - logits[label]`.
    case softmaxCrossEntropy

    // MARK: Random
    /// Random numbers of `shape` (inputs []), or of the run-time shape of input 0.
    /// Each run draws new numbers; a session's sequence is the same for the same seed.
    case random(RandomDistribution, seed: UInt64, shape: [Int?])

    // MARK: State
    /// Inputs [variable, value]: updates the variable, gives its new value.
    case assign(AssignMode)
    /// Runs its inputs (and control inputs), gives nothing (an empty float32 scalar placeholder value 0).
    case group

    // MARK: Gradient helpers (made by autodiff, usable directly)
    /// Inputs [x, like]: broadcasts x to the run-time shape of `like`.
    case broadcastLike
    /// Inputs [x, like]: sums x down to the run-time shape of `like` (undoing a broadcast).
    case sumLike
    /// Inputs [x, like]: reshapes x to the run-time shape of `like`.
    case reshapeLike
    /// Inputs [grad, like]: scatters `grad` into zeros shaped like `like`, at the slice.
    case sliceBackward(SliceSpec)
    /// Inputs [grad, indices, like]: scatter-adds `grad` rows into zeros shaped like `like`.
    case gatherBackward(axis: Int)
    /// Inputs [dy, filter, x]: gradient of conv2d with respect to x (shaped like x).
    case conv2dBackwardInput(Conv2DConfig)
    /// Inputs [x, dy, filter]: gradient of conv2d with respect to the filter.
    case conv2dBackwardFilter(Conv2DConfig)
    /// Inputs [x, dy]: gradient of max pooling (to the first maximum of each window).
    case maxPool2dBackward(Pool2DConfig)
    /// Inputs [dy, x]: gradient of average pooling.
    case avgPool2dBackward(Pool2DConfig)

    // MARK: Fused (made by the optimizer)
    /// A fused elementwise region; inputs broadcast to the output shape.
    case fused(FusedProgram)
    /// `activation(a × b + bias)`: inputs [a, b, bias]; bias broadcasts over the last axis.
    case linear(transposeA: Bool, transposeB: Bool, activation: UnaryFunction?)
    /// `v ← v + alpha · op(a) × op(b)` in place: inputs [variable, a, b] (rank 2, the product shaped like
    /// the variable); gives the new value. An update like `assignSub(v, (aᵀ × b) · lr)` (an SGD step)
    /// as one GEMM with β = 1 into the variable's memory (the optimizer's `fuse-update` pass).
    case assignMatMul(transposeA: Bool, transposeB: Bool, alpha: Double)
    /// A reduction of a fused elementwise expression of the inputs (`sum(x * y)`).
    case fusedReduce(ReduceFunction, axes: [Int], keepDims: Bool, FusedProgram)
}

/// Padding of one axis: elements added before and after.
public struct PadWidth: Hashable, Sendable {
    public var before: Int
    public var after: Int
    public init(_ before: Int, _ after: Int) { self.before = before; self.after = after }
}

extension Op {
    /// A short readable name with the attributes that matter (`matmul(tB)`, `sum[1]`).
    public var name: String {
        switch self {
        case .placeholder: return "placeholder"
        case .variable: return "variable"
        case .constant(let t): return t.count == 1 ? "const(\(t.doubles.first.map { String($0) } ?? ""))" : "const"
        case .unary(let f): return f.name
        case .binary(let f): return f.rawValue
        case .select: return "where"
        case .cast(let d): return "cast(\(d.shortName))"
        case .identity: return "identity"
        case .stopGradient: return "stopGradient"
        case .matmul(let ta, let tb): return "matmul" + (ta || tb ? "(" + (ta ? "tA" : "") + (ta && tb ? "," : "") + (tb ? "tB" : "") + ")" : "")
        case .reduce(let f, let axes, let k): return "\(f.rawValue)\(axes)\(k ? "k" : "")"
        case .argReduce(let f, let axis, _): return "\(f.rawValue)(\(axis))"
        case .reshape(let s): return "reshape\(s)"
        case .transpose(let p): return "transpose\(p)"
        case .broadcastTo(let s): return "broadcastTo\(s)"
        case .squeeze(let a): return "squeeze\(a)"
        case .expandDims(let a): return "expandDims(\(a))"
        case .concat(let a): return "concat(\(a))"
        case .slice: return "slice"
        case .gather(let a): return "gather(\(a))"
        case .pad: return "pad"
        case .tile(let m): return "tile\(m)"
        case .softmax(let a): return "softmax(\(a))"
        case .logSoftmax(let a): return "logSoftmax(\(a))"
        case .conv2d: return "conv2d"
        case .maxPool2d: return "maxPool2d"
        case .avgPool2d: return "avgPool2d"
        case .oneHot(let d, _): return "oneHot(\(d))"
        case .softmaxCrossEntropy: return "softmaxCrossEntropy"
        case .random(let d, _, _):
            switch d { case .uniform: return "randomUniform"; case .normal: return "randomNormal" }
        case .assign(let m): switch m { case .assign: return "assign"; case .add: return "assignAdd"; case .sub: return "assignSub" }
        case .group: return "group"
        case .broadcastLike: return "broadcastLike"
        case .sumLike: return "sumLike"
        case .reshapeLike: return "reshapeLike"
        case .sliceBackward: return "sliceBackward"
        case .gatherBackward: return "gatherBackward"
        case .conv2dBackwardInput: return "conv2dBackwardInput"
        case .conv2dBackwardFilter: return "conv2dBackwardFilter"
        case .maxPool2dBackward: return "maxPool2dBackward"
        case .avgPool2dBackward: return "avgPool2dBackward"
        case .fused(let p): return "fused(\(p.steps.count))"
        case .linear(_, _, let a): return "linear" + (a.map { "+" + $0.name } ?? "")
        case .fusedReduce(let f, let axes, _, let p): return "fused\(f.rawValue)\(axes)(\(p.steps.count))"
        case .assignMatMul(let ta, let tb, let alpha):
            let flags = (ta ? ["tA"] : []) + (tb ? ["tB"] : [])
            return "assignMatMul(" + (flags + ["α=\(alpha)"]).joined(separator: ",") + ")"
        }
    }

    /// Whether the op is a source (no inputs computed by ops).
    public var isSource: Bool {
        switch self {
        case .placeholder, .variable, .constant: return true
        default: return false
        }
    }

    /// Whether the op is elementwise (output element i depends only on input elements at i, after broadcasting).
    public var isElementwise: Bool {
        switch self {
        case .unary, .binary, .select, .cast, .identity, .fused: return true
        default: return false
        }
    }

    /// Whether the op has effects or draws fresh random numbers (never folded, merged or pruned when fetched).
    public var hasSideEffects: Bool {
        switch self {
        case .assign, .assignMatMul, .group, .random, .variable, .placeholder: return true
        default: return false
        }
    }

    /// Whether the op updates the variable that is its input 0 (`assign`, `assignAdd`, `assignSub`, `assignMatMul`).
    public var isAssignment: Bool {
        switch self {
        case .assign, .assignMatMul: return true
        default: return false
        }
    }
}
