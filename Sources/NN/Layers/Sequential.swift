// Sequential composition of layers with a result builder.

/// Collects layers written one per line into an array (see ``Sequential``).
@resultBuilder
public enum LayerBuilder {
    /// One layer.
    public static func buildExpression(_ layer: any Layer) -> [any Layer] { [layer] }
    /// Several layers (from a loop or a helper).
    public static func buildExpression(_ layers: [any Layer]) -> [any Layer] { layers }
    /// The block's layers, in order.
    public static func buildBlock(_ parts: [any Layer]...) -> [any Layer] { parts.flatMap { $0 } }
    /// An `if` without `else`.
    public static func buildOptional(_ part: [any Layer]?) -> [any Layer] { part ?? [] }
    /// The first branch of an `if`/`else`.
    public static func buildEither(first part: [any Layer]) -> [any Layer] { part }
    /// The second branch of an `if`/`else`.
    public static func buildEither(second part: [any Layer]) -> [any Layer] { part }
    /// A `for` loop.
    public static func buildArray(_ parts: [[any Layer]]) -> [any Layer] { parts.flatMap { $0 } }
}

/// Layers applied one after the other.
///
/// ```swift
/// let model = Sequential {
///     Dense(784, 128, activation: .relu)
///     Dropout(0.2)
///     Dense(128, 10)
/// }
/// let logits = model(x, training: true)
/// ```
///
/// Unnamed children are named by kind and position (`dense1`, `dropout1`, `dense2`, …), so variable
/// names (`dense1/w`) are stable across runs and suitable for checkpoints. Children without a seed
/// get one derived from the model's seed and their position.
public final class Sequential: Layer {
    /// The layers, in application order.
    public let layers: [any Layer]
    /// Seed from which children without their own seed derive theirs (nil: the context's).
    public let seed: UInt64?
    /// Name scope around the children (nil: none).
    public var name: String?
    /// `"sequential"`.
    public var kind: String { "sequential" }

    /// Creates a model from the layers written in `content`.
    public init(seed: UInt64? = nil, name: String? = nil, @LayerBuilder _ content: () -> [any Layer]) {
        self.layers = content()
        self.seed = seed
        self.name = name
        nameChildren()
    }

    /// Creates a model from an array of layers.
    public init(_ layers: [any Layer], seed: UInt64? = nil, name: String? = nil) {
        self.layers = layers
        self.seed = seed
        self.name = name
        nameChildren()
    }

    private func nameChildren() {
        var counts: [String: Int] = [:]
        for l in layers where l.name == nil {
            let k = counts[l.kind, default: 0] + 1
            counts[l.kind] = k
            l.name = "\(l.kind)\(k)"
        }
    }

    /// Every child's parameters, in order.
    public var parameters: [Tensor] { layers.flatMap(\.parameters) }
    /// Every child's non-trainable variables, in order.
    public var stateVariables: [Tensor] { layers.flatMap(\.stateVariables) }
    /// Every child's update ops from the latest training call.
    public var updates: [Tensor] { layers.flatMap(\.updates) }

    /// Applies the children in order.
    public func forward(_ x: Tensor, context: LayerContext) -> Tensor {
        let base = seed ?? context.seed
        let run = {
            var h = x
            for (i, l) in self.layers.enumerated() {
                h = l.forward(h, context: LayerContext(training: context.training, seed: mixSeed(base, UInt64(i))))
            }
            return h
        }
        if let name { return x.graph.withScope(name) { run() } }
        return run()
    }
}
