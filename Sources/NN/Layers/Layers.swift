// The built-in layers: Dense, Conv2D, MaxPool2D, AvgPool2D, Flatten, Dropout, BatchNorm.

/// A fully connected layer: `activation(x × w + b)` with `w` of shape `[inputSize, outputSize]`.
public final class Dense: Layer {
    /// Input features (the last axis of the input).
    public let inputSize: Int
    /// Output features.
    public let outputSize: Int
    /// Applied after the affine map.
    public let activation: Activation
    /// Whether the layer adds a bias.
    public let useBias: Bool
    /// Initializer of `w`.
    public let weightInitializer: Initializer
    /// Initializer of `b`.
    public let biasInitializer: Initializer
    /// Seed of random initializers (nil: derived from the context seed and the layer's name).
    public let seed: UInt64?
    /// The element type of the variables.
    public let dtype: DType
    /// See ``Layer/name``.
    public var name: String?
    /// `"dense"`.
    public var kind: String { "dense" }
    /// The weight matrix (nil until first called).
    public private(set) var weight: Tensor?
    /// The bias vector (nil until first called, or without bias).
    public private(set) var bias: Tensor?

    /// Creates a dense layer.
    public init(_ inputSize: Int, _ outputSize: Int, activation: Activation = .linear, useBias: Bool = true,
                weightInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                seed: UInt64? = nil, dtype: DType = .float32, name: String? = nil) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.activation = activation
        self.useBias = useBias
        self.weightInitializer = weightInitializer
        self.biasInitializer = biasInitializer
        self.seed = seed
        self.dtype = dtype
        self.name = name
    }

    /// `[weight, bias]` once built.
    public var parameters: [Tensor] { [weight, bias].compactMap { $0 } }

    /// Builds `activation(x × w + b)`.
    public func forward(_ x: Tensor, context: LayerContext) -> Tensor {
        let g = x.graph
        return g.withScope(scopeName) {
            if weight == nil {
                let s = effectiveSeed(seed, context)
                weight = g.variable("w", initializer: weightInitializer, shape: [inputSize, outputSize], dtype: dtype, seed: s)
                if useBias {
                    bias = g.variable("b", initializer: biasInitializer, shape: [outputSize], dtype: dtype, seed: mixSeed(s, 1))
                }
            }
            var y = x.matmul(weight ?? x)
            if let bias { y = y + bias }
            return activation.apply(y)
        }
    }
}

/// A 2-D convolution over NCHW input with an OIHW filter `[outChannels, inChannels, kh, kw]`,
/// plus a per-channel bias and an activation.
public final class Conv2D: Layer {
    /// Input channels.
    public let inChannels: Int
    /// Output channels (filters).
    public let outChannels: Int
    /// Window height and width.
    public let kernel: (Int, Int)
    /// Strides along height and width.
    public let strides: (Int, Int)
    /// Spatial padding.
    public let padding: Padding
    /// Applied after the convolution.
    public let activation: Activation
    /// Whether the layer adds a per-channel bias.
    public let useBias: Bool
    /// Initializer of the filter.
    public let weightInitializer: Initializer
    /// Initializer of the bias.
    public let biasInitializer: Initializer
    /// Seed of random initializers (nil: derived from the context seed and the layer's name).
    public let seed: UInt64?
    /// The element type of the variables.
    public let dtype: DType
    /// See ``Layer/name``.
    public var name: String?
    /// `"conv"`.
    public var kind: String { "conv" }
    /// The filter (nil until first called).
    public private(set) var filter: Tensor?
    /// The bias (nil until first called, or without bias).
    public private(set) var bias: Tensor?

    /// Creates a convolution layer.
    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int), strides: (Int, Int) = (1, 1),
                padding: Padding = .valid, activation: Activation = .linear, useBias: Bool = true,
                weightInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                seed: UInt64? = nil, dtype: DType = .float32, name: String? = nil) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.strides = strides
        self.padding = padding
        self.activation = activation
        self.useBias = useBias
        self.weightInitializer = weightInitializer
        self.biasInitializer = biasInitializer
        self.seed = seed
        self.dtype = dtype
        self.name = name
    }

    /// A square-kernel convolution.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1,
                            padding: Padding = .valid, activation: Activation = .linear, useBias: Bool = true,
                            weightInitializer: Initializer = .glorotUniform, seed: UInt64? = nil,
                            dtype: DType = .float32, name: String? = nil) {
        self.init(inChannels, outChannels, kernel: (kernel, kernel), strides: (stride, stride), padding: padding,
                  activation: activation, useBias: useBias, weightInitializer: weightInitializer, seed: seed,
                  dtype: dtype, name: name)
    }

    /// `[filter, bias]` once built.
    public var parameters: [Tensor] { [filter, bias].compactMap { $0 } }

    /// Builds `activation(conv2d(x, filter) + bias)`.
    public func forward(_ x: Tensor, context: LayerContext) -> Tensor {
        let g = x.graph
        return g.withScope(scopeName) {
            if filter == nil {
                let s = effectiveSeed(seed, context)
                filter = g.variable("w", initializer: weightInitializer, shape: [outChannels, inChannels, kernel.0, kernel.1],
                                    dtype: dtype, seed: s)
                if useBias {
                    bias = g.variable("b", initializer: biasInitializer, shape: [outChannels], dtype: dtype, seed: mixSeed(s, 1))
                }
            }
            var y = conv2d(x, filter: filter ?? x, strides: strides, padding: padding)
            if let bias { y = y + bias.reshaped([1, outChannels, 1, 1]) }
            return activation.apply(y)
        }
    }
}

/// What the pooling layers share: window, strides, padding. Use ``MaxPool2D`` or ``AvgPool2D``.
public class Pool2DLayer: Layer {
    /// Window height and width.
    public let kernel: (Int, Int)
    /// Strides (default: the window size).
    public let strides: (Int, Int)?
    /// Spatial padding.
    public let padding: Padding
    /// See ``Layer/name``.
    public var name: String?
    /// `"maxpool"` or `"avgpool"`.
    public var kind: String { "pool" }
    /// None.
    public var parameters: [Tensor] { [] }

    /// Creates a pooling layer.
    public init(_ kernel: (Int, Int), strides: (Int, Int)? = nil, padding: Padding = .valid, name: String? = nil) {
        self.kernel = kernel
        self.strides = strides
        self.padding = padding
        self.name = name
    }
    /// A square window.
    public convenience init(_ size: Int, name: String? = nil) { self.init((size, size), name: name) }

    /// The pooling op on `x` (overridden by each kind).
    func pool(_ x: Tensor) -> Tensor { x }

    /// Builds the pooling node.
    public func forward(_ x: Tensor, context: LayerContext) -> Tensor {
        x.graph.withScope(scopeName) { pool(x) }
    }
}

/// Max pooling over NCHW windows.
public final class MaxPool2D: Pool2DLayer {
    /// `"maxpool"`.
    public override var kind: String { "maxpool" }
    override func pool(_ x: Tensor) -> Tensor { maxPool2d(x, kernel: kernel, strides: strides, padding: padding) }
}

/// Average pooling over NCHW windows (padded positions are not counted).
public final class AvgPool2D: Pool2DLayer {
    /// `"avgpool"`.
    public override var kind: String { "avgpool" }
    override func pool(_ x: Tensor) -> Tensor { avgPool2d(x, kernel: kernel, strides: strides, padding: padding) }
}

/// Flattens every axis after the first: `[N, …] → [N, -1]`.
public final class Flatten: Layer {
    /// See ``Layer/name``.
    public var name: String?
    /// `"flatten"`.
    public var kind: String { "flatten" }
    /// None.
    public var parameters: [Tensor] { [] }
    /// Creates a flatten layer.
    public init(name: String? = nil) { self.name = name }
    /// Builds the reshape.
    public func forward(_ x: Tensor, context: LayerContext) -> Tensor {
        x.graph.withScope(scopeName) { x.flattened() }
    }
}

/// Inverted dropout: in training, zeroes each element with probability `rate` and scales the
/// others by `1 / (1 - rate)`; the identity otherwise.
public final class Dropout: Layer {
    /// The drop probability, in `[0, 1)`.
    public let rate: Double
    /// Seed of the mask stream (nil: derived from the context seed and the layer's name).
    public let seed: UInt64?
    /// See ``Layer/name``.
    public var name: String?
    /// `"dropout"`.
    public var kind: String { "dropout" }
    /// None.
    public var parameters: [Tensor] { [] }

    /// Creates a dropout layer.
    public init(_ rate: Double, seed: UInt64? = nil, name: String? = nil) {
        self.rate = rate
        self.seed = seed
        self.name = name
    }

    /// Builds the masked product (training) or an identity.
    public func forward(_ x: Tensor, context: LayerContext) -> Tensor {
        let s = effectiveSeed(seed, context)
        return x.graph.withScope(scopeName) { dropout(x, rate: rate, training: context.training, seed: s) }
    }
}

/// Batch normalization over every axis but axis 1 (the features of `[N, C]` or the channels of
/// `[N, C, H, W]`), with learned scale `gamma` and shift `beta`.
///
/// Training: `y = (x - μ_B) / sqrt(σ²_B + ε) · γ + β` with the batch mean and biased variance, and
/// ``updates`` set the running statistics to `(1 - momentum) · running + momentum · batch`
/// (PyTorch's convention, momentum 0.1; the running variance uses the biased batch variance, as Keras
/// does). Inference: the running statistics replace the batch ones.
public final class BatchNorm: Layer {
    /// Number of features/channels (size of axis 1).
    public let features: Int
    /// Weight of the new batch statistics in the running averages.
    public let momentum: Double
    /// Added to the variance.
    public let epsilon: Double
    /// The element type of the variables.
    public let dtype: DType
    /// See ``Layer/name``.
    public var name: String?
    /// `"batchnorm"`.
    public var kind: String { "batchnorm" }
    /// Scale (ones at first).
    public private(set) var gamma: Tensor?
    /// Shift (zeros at first).
    public private(set) var beta: Tensor?
    /// Running mean (zeros at first; not trainable).
    public private(set) var runningMean: Tensor?
    /// Running variance (ones at first; not trainable).
    public private(set) var runningVariance: Tensor?
    /// The running-statistics assigns made by the latest training call.
    public private(set) var updates: [Tensor] = []

    /// Creates a batch-normalization layer.
    public init(_ features: Int, momentum: Double = 0.1, epsilon: Double = 1e-5, dtype: DType = .float32, name: String? = nil) {
        self.features = features
        self.momentum = momentum
        self.epsilon = epsilon
        self.dtype = dtype
        self.name = name
    }

    /// `[gamma, beta]` once built.
    public var parameters: [Tensor] { [gamma, beta].compactMap { $0 } }
    /// `[runningMean, runningVariance]` once built.
    public var stateVariables: [Tensor] { [runningMean, runningVariance].compactMap { $0 } }

    /// Builds the normalization (and, in training, the running-statistics updates).
    public func forward(_ x: Tensor, context: LayerContext) -> Tensor {
        let g = x.graph
        return g.withScope(scopeName) {
            if gamma == nil {
                gamma = g.variable("gamma", initializer: .ones, shape: [features], dtype: dtype)
                beta = g.variable("beta", initializer: .zeros, shape: [features], dtype: dtype)
                runningMean = g.variable("running_mean", initializer: .zeros, shape: [features], dtype: dtype)
                runningVariance = g.variable("running_var", initializer: .ones, shape: [features], dtype: dtype)
            }
            guard let gamma, let beta, let runningMean, let runningVariance else { return x }
            let axes = (0..<x.rank).filter { $0 != 1 }
            let bshape = (0..<x.rank).map { $0 == 1 ? features : 1 }
            if !context.training {
                let inv = rsqrt(runningVariance.reshaped(bshape) + epsilon)
                return (x - runningMean.reshaped(bshape)) * (inv * gamma.reshaped(bshape)) + beta.reshaped(bshape)
            }
            let mean = x.mean(axes: axes, keepDims: true)
            let centered = x - mean
            let variance = (centered * centered).mean(axes: axes, keepDims: true)
            let y = centered * rsqrt(variance + epsilon) * gamma.reshaped(bshape) + beta.reshaped(bshape)
            let m = momentum
            g.withRole(.update) {
                updates = [
                    runningMean.assign(runningMean * (1 - m) + mean.reshaped([features]) * m),
                    runningVariance.assign(runningVariance * (1 - m) + variance.reshaped([features]) * m),
                ]
            }
            return y
        }
    }
}

/// Applies an ``Activation`` as a layer of its own (e.g. after ``BatchNorm``).
public final class ActivationLayer: Layer {
    /// The function.
    public let activation: Activation
    /// See ``Layer/name``.
    public var name: String?
    /// `"activation"`.
    public var kind: String { "activation" }
    /// None.
    public var parameters: [Tensor] { [] }
    /// Creates the layer.
    public init(_ activation: Activation, name: String? = nil) {
        self.activation = activation
        self.name = name
    }
    /// Applies the function.
    public func forward(_ x: Tensor, context: LayerContext) -> Tensor {
        x.graph.withScope(scopeName) { activation.apply(x) }
    }
}
