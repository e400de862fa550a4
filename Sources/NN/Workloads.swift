@_exported import Graph

/// The benchmark workloads of `docs/benchmarks.md`, built from deterministic data so that
/// SymGraph and other frameworks compute the same numbers.
public enum Workloads {
    /// Reference values (float64 NumPy) the workloads are checked against.
    public enum Reference {
        /// W1: mean softmax cross-entropy at step 0.
        public static let mlpLossStep0 = 2.4895192352675526
        /// W1: loss after one SGD step (lr 0.01).
        public static let mlpLossStep1 = 2.406916541939973
        /// W1f: sum over the batch of the class-0 probability.
        public static let mlpProbClass0Sum = 18.235961864455003
        /// W2: sum of the output.
        public static let chainSum = 2795834.20443243
        /// W3: float32 loss at step 0 and after one step.
        public static let lenetLossStep0 = 2.277793
        public static let lenetLossStep1 = 2.272654
        /// W5: loss for every N ≥ 100.
        public static let unrolledLoss = -113.09733552923255
    }

    /// A built model: its graph, inputs, outputs and trainable parameters.
    public struct Model: @unchecked Sendable {
        public let graph: Graph
        /// The input placeholder.
        public let input: Tensor
        /// The integer label placeholder (nil for models without labels).
        public let labels: Tensor?
        /// Logits (or the model's main output).
        public let logits: Tensor
        /// The scalar loss.
        public let loss: Tensor
        /// Trainable variables, in the workload's order.
        public let parameters: [Tensor]
    }

    // MARK: W1 / W1f

    /// W1's data: X (128 × 784) uniform in [0, 1) with seed 1, labels with seed 2.
    public static func mlpData(batch: Int = 128) -> (x: HostTensor, labels: HostTensor) {
        let x = DeterministicRandom.uniformFloats(count: batch * 784, seed: 1, low: 0, high: 1)
        let y = DeterministicRandom.labels(count: batch, seed: 2, classes: 10)
        return ((try? HostTensor(x, shape: [batch, 784])) ?? HostTensor(zeros: .float32, shape: [batch, 784]), HostTensor(y))
    }

    /// The W1 MLP 784-512-512-10 (ReLU), weights Glorot-uniform with seeds 11, 12, 13, biases 0;
    /// the loss is the batch mean of softmax cross-entropy.
    public static func mlp(in graph: Graph = Graph(), batch: Int? = nil, dtype: DType = .float32) -> Model {
        let g = graph
        let x = g.placeholder("x", shape: [batch, 784], dtype: dtype)
        let y = g.placeholder("labels", shape: [batch], dtype: .int32)
        var params: [Tensor] = []
        var h = x
        let sizes = [(784, 512), (512, 512), (512, 10)]
        for (i, (fanIn, fanOut)) in sizes.enumerated() {
            g.withScope("dense\(i + 1)") {
                let w = g.variable("w", initializer: .glorotUniform, shape: [fanIn, fanOut], dtype: dtype, seed: UInt64(11 + i))
                let b = g.variable("b", initializer: .zeros, shape: [fanOut], dtype: dtype)
                params += [w, b]
                h = h.matmul(w) + b
                if i < sizes.count - 1 { h = relu(h) }
            }
        }
        let loss = softmaxCrossEntropy(logits: h, labels: y).mean()
        return Model(graph: g, input: x, labels: y, logits: h, loss: loss, parameters: params)
    }

    // MARK: W2

    /// W2's inputs x, y, z: N values uniform in [-2, 2) with seeds 21, 22, 23.
    public static func chainData(count n: Int = 4_194_304) -> [HostTensor] {
        [21, 22, 23].map { HostTensor(DeterministicRandom.uniformFloats(count: n, seed: UInt64($0), low: -2, high: 2)) }
    }

    /// W2: `tanh(x*y + z) * sigmoid(x) + 0.5*x*x` over three placeholders of length `count`.
    public static func elementwiseChain(in graph: Graph = Graph(), count n: Int? = nil)
        -> (graph: Graph, inputs: [Tensor], output: Tensor)
    {
        let g = graph
        let x = g.placeholder("x", shape: [n]), y = g.placeholder("y", shape: [n]), z = g.placeholder("z", shape: [n])
        let out = tanh(x * y + z) * sigmoid(x) + 0.5 * x * x
        return (g, [x, y, z], out)
    }

    // MARK: W3

    /// W3's data: X (64, 1, 28, 28) uniform in [0, 1) with seed 31; labels with seed 32.
    public static func lenetData(batch: Int = 64) -> (x: HostTensor, labels: HostTensor) {
        let x = DeterministicRandom.uniformFloats(count: batch * 784, seed: 31, low: 0, high: 1)
        let y = DeterministicRandom.labels(count: batch, seed: 32, classes: 10)
        return ((try? HostTensor(x, shape: [batch, 1, 28, 28])) ?? HostTensor(zeros: .float32, shape: [batch, 1, 28, 28]), HostTensor(y))
    }

    /// W3 LeNet: conv 5×5 (20) → ReLU → maxpool 2 → conv 5×5 (50) → ReLU → maxpool 2 → flatten
    /// → fc 800-500 → ReLU → fc 500-10; Glorot-uniform weights with seeds 33–36, biases 0.
    public static func lenet(in graph: Graph = Graph(), batch: Int? = nil, dtype: DType = .float32) -> Model {
        let g = graph
        let x = g.placeholder("x", shape: [batch, 1, 28, 28], dtype: dtype)
        let y = g.placeholder("labels", shape: [batch], dtype: .int32)
        var params: [Tensor] = []
        func conv(_ name: String, _ input: Tensor, out: Int, inC: Int, seed: UInt64) -> Tensor {
            g.withScope(name) {
                let w = g.variable("w", initializer: .glorotUniform, shape: [out, inC, 5, 5], dtype: dtype, seed: seed)
                let b = g.variable("b", initializer: .zeros, shape: [out], dtype: dtype)
                params += [w, b]
                let c = conv2d(input, filter: w) + b.reshaped([1, out, 1, 1])
                return maxPool2d(relu(c), kernel: (2, 2))
            }
        }
        let c1 = conv("conv1", x, out: 20, inC: 1, seed: 33)
        let c2 = conv("conv2", c1, out: 50, inC: 20, seed: 34)
        let flat = c2.reshaped([-1, 800])
        var h = flat
        for (i, (fi, fo, seed)) in [(800, 500, UInt64(35)), (500, 10, UInt64(36))].enumerated() {
            g.withScope("fc\(i + 1)") {
                let w = g.variable("w", initializer: .glorotUniform, shape: [fi, fo], dtype: dtype, seed: seed)
                let b = g.variable("b", initializer: .zeros, shape: [fo], dtype: dtype)
                params += [w, b]
                h = h.matmul(w) + b
                if i == 0 { h = relu(h) }
            }
        }
        let loss = softmaxCrossEntropy(logits: h, labels: y).mean()
        return Model(graph: g, input: x, labels: y, logits: h, loss: loss, parameters: params)
    }

    // MARK: W5

    /// W5's input x0: 1000 values uniform in [-1, 1) with seed 51.
    public static func unrolledData() -> HostTensor {
        HostTensor(DeterministicRandom.uniformFloats(count: 1000, seed: 51, low: -1, high: 1))
    }

    /// W5: `x_{i+1} = sin(x_i) * 0.5 + x_i`, unrolled `steps` times; `loss = sum(x_N)`.
    public static func unrolledChain(in graph: Graph = Graph(), steps: Int) -> (graph: Graph, x0: Tensor, loss: Tensor) {
        let g = graph
        let x0 = g.placeholder("x0", shape: [1000])
        var x = x0
        for _ in 0..<steps { x = sin(x) * 0.5 + x }
        return (g, x0, x.sum())
    }
}
