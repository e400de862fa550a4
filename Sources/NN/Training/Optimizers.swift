// Training optimizers that emit in-graph update subgraphs (PyTorch's formulas).

/// A training optimizer: turns gradients into a `group` of assign ops that update the parameters
/// (and the optimizer's own slot variables). Fetching the returned tensor runs one step.
///
/// Every assign is made with control dependencies on all the gradients (and extra tensors such as
/// the loss), so no parameter changes before every gradient has been computed from the old values.
public protocol TrainingOptimizer: AnyObject {
    /// The optimizer's variables (slots such as momenta, and step counters), for checkpoints.
    var variables: [Tensor] { get }
    /// Builds the update subgraph for `gradients[i]` of `parameters[i]` and returns a `group` of its assigns.
    ///
    /// - Parameters:
    ///   - gradients: One gradient per parameter, of the parameter's shape.
    ///   - parameters: Variables to update.
    ///   - after: Tensors every assign must wait for (besides the gradients), such as the loss.
    func apply(gradients: [Tensor], to parameters: [Tensor], after: [Tensor], file: String, line: Int) -> Tensor
}

extension TrainingOptimizer {
    /// Builds the update subgraph (see ``apply(gradients:to:after:file:line:)``).
    public func apply(gradients: [Tensor], to parameters: [Tensor], file: String = #fileID, line: Int = #line) -> Tensor {
        apply(gradients: gradients, to: parameters, after: [], file: file, line: line)
    }
}

/// Shared bookkeeping of the built-in optimizers: slot creation, naming and the control scope.
public class OptimizerBase {
    /// Scope of the optimizer's nodes and slot names (`sgd`, `adam`, …).
    public let name: String
    /// The slot variables created so far.
    public private(set) var variables: [Tensor] = []

    init(name: String) { self.name = name }

    /// A zero-initialized slot shaped like `p`, named `<optimizer>/<p's name>/<slot>`.
    func slot(_ p: Tensor, _ slot: String) -> Tensor {
        let v = p.graph.variable("\(p.name)/\(slot)", initializer: .zeros, shape: p.shape.known ?? [], dtype: p.dtype)
        variables.append(v)
        return v
    }

    /// A scalar float32 step counter (starts at 0).
    func stepCounter(_ g: Graph) -> Tensor {
        let v = g.variable("step", initializer: .zeros, shape: [], dtype: .float32)
        variables.append(v)
        return v
    }

    /// Runs `body` once per (gradient, parameter) pair inside the optimizer's scope, role and
    /// control scope; `prelude` runs first (for shared values such as a step counter).
    func build(_ gradients: [Tensor], _ parameters: [Tensor], after: [Tensor], file: String, line: Int,
               prelude: (Graph) -> Void = { _ in },
               _ body: (_ g: Tensor, _ p: Tensor) -> Tensor) -> Tensor {
        let loc = SourceLocation(file: file, line: line)
        guard let g = parameters.first?.graph ?? gradients.first?.graph else {
            // Nothing to update: an empty group in a fresh graph cannot be fetched anywhere useful.
            return Graph().group([], file: file, line: line)
        }
        return g.withRole(.update) {
            g.withScope(name) {
                g.withLocation(loc) {
                    guard gradients.count == parameters.count else {
                        let t = g.group([], name: "step", file: file, line: line)
                        g.record(Diagnostic(nodeName: t.name, op: "group", inputs: [],
                                            message: "\(gradients.count) gradients for \(parameters.count) parameters", location: loc))
                        return t
                    }
                    for (gr, p) in zip(gradients, parameters) {
                        if case .variable = p.node.op {} else {
                            g.record(Diagnostic(nodeName: p.name, op: p.node.op.name, inputs: [],
                                                message: "optimizer parameter '\(p.name)' is not a variable", location: loc))
                        }
                        if gr.dtype != p.dtype {
                            g.record(Diagnostic(nodeName: gr.name, op: gr.node.op.name, inputs: [],
                                                message: "gradient of '\(p.name)' is \(gr.dtype), the parameter is \(p.dtype)", location: loc))
                        }
                    }
                    prelude(g)
                    let assigns = zip(gradients, parameters).map { body($0.0, $0.1) }
                    return g.group(assigns, name: "step", file: file, line: line)
                }
            }
        }
    }

    /// Makes an assign that waits for `deps` (the gradients and `after`).
    func assign(_ v: Tensor, _ value: Tensor, after deps: [Tensor]) -> Tensor {
        v.graph.withControlDependencies(deps) { v.assign(value) }
    }
}

/// Stochastic gradient descent: `p ← p − lr · (g + λ·p)` (λ: coupled L2 weight decay, default 0).
public final class SGD: OptimizerBase, TrainingOptimizer {
    /// Step size.
    public let learningRate: Double
    /// L2 weight decay λ added to the gradient.
    public let weightDecay: Double

    /// Creates the optimizer.
    public init(learningRate: Double, weightDecay: Double = 0, name: String = "sgd") {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        super.init(name: name)
    }

    /// See ``TrainingOptimizer/apply(gradients:to:after:file:line:)``.
    public func apply(gradients: [Tensor], to parameters: [Tensor], after: [Tensor], file: String = #fileID, line: Int = #line) -> Tensor {
        let deps = gradients + after
        return build(gradients, parameters, after: after, file: file, line: line) { g, p in
            let d = weightDecay != 0 ? g + p * weightDecay : g
            return assign(p, p - d * learningRate, after: deps)
        }
    }
}

/// SGD with momentum μ (PyTorch's `SGD(momentum:, nesterov:)`, dampening 0):
/// `g ← g + λ·p; b ← μ·b + g; p ← p − lr · (nesterov ? g + μ·b : b)`, `b` starting at 0.
public final class Momentum: OptimizerBase, TrainingOptimizer {
    /// Step size.
    public let learningRate: Double
    /// Momentum μ.
    public let momentum: Double
    /// Nesterov's variant.
    public let nesterov: Bool
    /// L2 weight decay λ.
    public let weightDecay: Double

    /// Creates the optimizer.
    public init(learningRate: Double, momentum: Double = 0.9, nesterov: Bool = false, weightDecay: Double = 0,
                name: String = "momentum") {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        super.init(name: name)
    }

    /// See ``TrainingOptimizer/apply(gradients:to:after:file:line:)``.
    public func apply(gradients: [Tensor], to parameters: [Tensor], after: [Tensor], file: String = #fileID, line: Int = #line) -> Tensor {
        let deps = gradients + after
        return build(gradients, parameters, after: after, file: file, line: line) { g, p in
            let b = slot(p, "momentum")
            let d = weightDecay != 0 ? g + p * weightDecay : g
            let bNew = assign(b, b * momentum + d, after: deps)
            let step = nesterov ? d + bNew * momentum : bNew
            return p.graph.group([bNew, assign(p, p - step * learningRate, after: deps)])
        }
    }
}

/// RMSProp (PyTorch's, not centered): `v ← α·v + (1−α)·g²; p ← p − lr · g / (√v + ε)`;
/// with momentum μ > 0: `b ← μ·b + g / (√v + ε); p ← p − lr · b`. `g` includes λ·p.
public final class RMSProp: OptimizerBase, TrainingOptimizer {
    /// Step size.
    public let learningRate: Double
    /// Decay α of the squared-gradient average.
    public let alpha: Double
    /// ε added to the root.
    public let epsilon: Double
    /// Momentum μ (0: none).
    public let momentum: Double
    /// L2 weight decay λ.
    public let weightDecay: Double

    /// Creates the optimizer (PyTorch's defaults: α 0.99, ε 1e-8).
    public init(learningRate: Double = 0.01, alpha: Double = 0.99, epsilon: Double = 1e-8, momentum: Double = 0,
                weightDecay: Double = 0, name: String = "rmsprop") {
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
        self.momentum = momentum
        self.weightDecay = weightDecay
        super.init(name: name)
    }

    /// See ``TrainingOptimizer/apply(gradients:to:after:file:line:)``.
    public func apply(gradients: [Tensor], to parameters: [Tensor], after: [Tensor], file: String = #fileID, line: Int = #line) -> Tensor {
        let deps = gradients + after
        return build(gradients, parameters, after: after, file: file, line: line) { g, p in
            let v = slot(p, "square_avg")
            let d = weightDecay != 0 ? g + p * weightDecay : g
            let vNew = assign(v, v * alpha + d * d * (1 - alpha), after: deps)
            let scaled = d / (sqrt(vNew) + epsilon)
            if momentum > 0 {
                let b = slot(p, "momentum")
                let bNew = assign(b, b * momentum + scaled, after: deps)
                return p.graph.group([vNew, bNew, assign(p, p - bNew * learningRate, after: deps)])
            }
            return p.graph.group([vNew, assign(p, p - scaled * learningRate, after: deps)])
        }
    }
}

/// Adam (PyTorch's, L2 weight decay coupled into the gradient) and, with `decoupled`, AdamW.
///
/// With `t` the step count (incremented in-graph before use, starting from 1):
/// ```
/// g ← g + λ·p                         (Adam only)
/// p ← p · (1 − lr·λ)                  (AdamW only)
/// m ← β1·m + (1−β1)·g
/// v ← β2·v + (1−β2)·g²
/// p ← p − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
/// ```
public class AdamBase: OptimizerBase {
    /// Step size.
    public let learningRate: Double
    /// Decay of the first moment.
    public let beta1: Double
    /// Decay of the second moment.
    public let beta2: Double
    /// ε added to the root.
    public let epsilon: Double
    /// Weight decay λ.
    public let weightDecay: Double
    let decoupled: Bool
    /// The step counter variable (nil until applied).
    public private(set) var step: Tensor?

    init(learningRate: Double, beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double, decoupled: Bool, name: String) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupled = decoupled
        super.init(name: name)
    }

    /// See ``TrainingOptimizer/apply(gradients:to:after:file:line:)``.
    public func apply(gradients: [Tensor], to parameters: [Tensor], after: [Tensor], file: String = #fileID, line: Int = #line) -> Tensor {
        let deps = gradients + after
        var t: Tensor?
        return build(gradients, parameters, after: after, file: file, line: line, prelude: { g in
            let counter = stepCounter(g)
            step = counter
            t = g.withControlDependencies(deps) { counter.assignAdd(g.constant(1.0)) }
        }) { g, p in
            guard let t else { return p }
            let graph = p.graph
            let m = slot(p, "exp_avg"), v = slot(p, "exp_avg_sq")
            let d = (!decoupled && weightDecay != 0) ? g + p * weightDecay : g
            let mNew = assign(m, m * beta1 + d * (1 - beta1), after: deps)
            let vNew = assign(v, v * beta2 + d * d * (1 - beta2), after: deps)
            let t32 = t.dtype == p.dtype ? t : t.cast(to: p.dtype)
            let bc1 = 1 - graph.constant(beta1, dtype: p.dtype).pow(t32)
            let bc2 = 1 - graph.constant(beta2, dtype: p.dtype).pow(t32)
            let update = (mNew / bc1) / (sqrt(vNew / bc2) + epsilon) * learningRate
            let base = (decoupled && weightDecay != 0) ? p * (1 - learningRate * weightDecay) : p
            return graph.group([mNew, vNew, assign(p, base - update, after: deps)])
        }
    }
}

/// Adam with coupled L2 weight decay (PyTorch's `Adam`; defaults β1 0.9, β2 0.999, ε 1e-8, λ 0).
/// See ``AdamBase`` for the formulas.
public final class Adam: AdamBase {
    /// Creates the optimizer.
    public init(learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 0, name: String = "adam") {
        super.init(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
                   decoupled: false, name: name)
    }
}
extension Adam: TrainingOptimizer {}

/// AdamW: Adam with decoupled weight decay `p ← p·(1 − lr·λ)` (PyTorch's `AdamW`; default λ 0.01).
/// See ``AdamBase`` for the formulas.
public final class AdamW: AdamBase {
    /// Creates the optimizer.
    public init(learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 0.01, name: String = "adamw") {
        super.init(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
                   decoupled: true, name: name)
    }
}
extension AdamW: TrainingOptimizer {}
