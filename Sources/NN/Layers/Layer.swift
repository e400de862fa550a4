// The layer protocol: a layer is a graph builder that owns its variables.

/// What a layer needs to know when it builds its nodes.
public struct LayerContext: Sendable {
    /// Training mode: dropout drops, batch norm uses batch statistics and makes `updates`.
    public var training: Bool
    /// The default seed for layers that were not given one (containers derive one per child).
    public var seed: UInt64

    /// Creates a context.
    public init(training: Bool, seed: UInt64 = 0) {
        self.training = training
        self.seed = seed
    }
}

/// A neural-network layer: a graph builder that creates its variables the first time it is
/// called (in the graph of its input) and reuses them on every later call, so the same layer
/// can build a training graph and an inference graph that share weights.
///
/// ```swift
/// let dense = Dense(784, 128, activation: .relu)
/// let h = dense(x, training: true)   // creates dense/w, dense/b
/// let e = dense(x, training: false)  // reuses them
/// ```
public protocol Layer: AnyObject {
    /// The layer's kind, used to name it inside a ``Sequential`` (`dense`, `conv`, …).
    var kind: String { get }
    /// The name scope of the layer's nodes; a ``Sequential`` fills it in when it is nil.
    var name: String? { get set }
    /// Builds the layer's nodes on `x` and returns its output.
    func forward(_ x: Tensor, context: LayerContext) -> Tensor
    /// Trainable variables (empty until the layer is first called).
    var parameters: [Tensor] { get }
    /// Non-trainable variables (such as batch-norm running statistics).
    var stateVariables: [Tensor] { get }
    /// Assign ops made by the latest training-mode call (batch-norm running statistics);
    /// run them with each training step (``TrainingOptimizer/minimize(_:_:updates:file:line:)`` does).
    var updates: [Tensor] { get }
}

extension Layer {
    /// Non-trainable variables: none by default.
    public var stateVariables: [Tensor] { [] }
    /// Update ops: none by default.
    public var updates: [Tensor] { [] }
    /// Every variable of the layer: ``parameters`` then ``stateVariables`` (what a checkpoint saves).
    public var variables: [Tensor] { parameters + stateVariables }

    /// Applies the layer to `x` (see ``forward(_:context:)``).
    ///
    /// - Parameters:
    ///   - x: The input tensor.
    ///   - training: Training mode (dropout active, batch statistics, running-stat updates).
    ///   - seed: Default seed for layers that were not given one.
    public func callAsFunction(_ x: Tensor, training: Bool = false, seed: UInt64 = 0) -> Tensor {
        forward(x, context: LayerContext(training: training, seed: seed))
    }

    /// The scope name used for this layer's nodes.
    var scopeName: String { name ?? kind }
}

/// An activation function applied after a layer's affine map.
public enum Activation: Hashable, Sendable {
    /// No activation (the identity).
    case linear
    case relu, sigmoid, tanh, gelu, softplus
    /// `x > 0 ? x : alpha * x`.
    case leakyRelu(alpha: Double)
    /// `x > 0 ? x : alpha * (exp(x) - 1)`.
    case elu(alpha: Double)
    /// Softmax over the last axis.
    case softmax

    /// Applies the activation to `x`.
    public func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .linear: return x
        case .relu: return x.map(.relu)
        case .sigmoid: return x.map(.sigmoid)
        case .tanh: return x.map(.tanh)
        case .gelu: return x.map(.gelu)
        case .softplus: return x.map(.softplus)
        case .leakyRelu(let a): return x.map(.leakyRelu(alpha: a))
        case .elu(let a): return x.map(.elu(alpha: a))
        case .softmax: return x.softmax(axis: -1)
        }
    }
}

/// A 64-bit mix of a seed and a salt (SplitMix64's finalizer), so each layer gets its own stream.
func mixSeed(_ seed: UInt64, _ salt: UInt64) -> UInt64 {
    var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (salt &+ 1)
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// FNV-1a hash of a string (a stable, platform-independent salt).
func stableHash(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    return h
}

extension Layer {
    /// The seed for this layer's initializers: its own, else one derived from the context and its name.
    func effectiveSeed(_ own: UInt64?, _ context: LayerContext) -> UInt64 {
        own ?? mixSeed(context.seed, stableHash(scopeName))
    }
}
