import XCTest
@testable import Graph

/// Dtype and shape inference of neural-net ops: softmax, conv2d, pooling, oneHot,
/// softmax cross-entropy, dropout, batchNorm, random ops.
final class InferenceNeuralNetTests: XCTestCase {
    func testSoftmaxAndLogSoftmax() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 10])
        assertType(x.softmax(), .float32, [nil, 10])
        assertType(softmax(x, axis: 0), .float32, [nil, 10])
        assertType(x.logSoftmax(), .float32, [nil, 10])
        assertType(logSoftmax(x, axis: -2), .float32, [nil, 10])
        XCTAssertEqual(x.softmax().node.op, .softmax(axis: 1))
        XCTAssertEqual(x.logSoftmax(axis: -2).node.op, .logSoftmax(axis: 0))
        assertValid(g)
        let line = #line + 1
        let bad = x.softmax(axis: 2)
        assertInvalid(g, node: bad.name, message: "axis 2 is out of range for rank 2", location: here(line))
        let g2 = Graph()
        let i = g2.placeholder("i", shape: [3], dtype: .int32)
        let line2 = #line + 1
        let bad2 = i.logSoftmax()
        assertInvalid(g2, node: bad2.name, message: "floating-point", location: here(line2))
    }

    func testConv2DShapes() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 1, 28, 28])
        let w = g.variable("w", initializer: .glorotUniform, shape: [20, 1, 5, 5], seed: 33)
        assertType(conv2d(x, filter: w), .float32, [nil, 20, 24, 24])
        assertType(conv2d(x, filter: w, strides: (2, 2)), .float32, [nil, 20, 12, 12])
        assertType(conv2d(x, filter: w, strides: (2, 1)), .float32, [nil, 20, 12, 24])
        assertType(conv2d(x, filter: w, padding: .same), .float32, [nil, 20, 28, 28])
        assertType(conv2d(x, filter: w, strides: (2, 2), padding: .same), .float32, [nil, 20, 14, 14])
        assertType(conv2d(x, filter: w, strides: (3, 3), padding: .same), .float32, [nil, 20, 10, 10])
        assertType(conv2d(x, filter: w, padding: .explicit(top: 2, bottom: 2, left: 1, right: 0)), .float32, [nil, 20, 28, 25])
        assertType(conv2d(x, filter: w, dilation: (2, 2)), .float32, [nil, 20, 20, 20])
        assertType(conv2d(x, filter: w, padding: .same, dilation: (2, 3)), .float32, [nil, 20, 28, 28])
        let u = g.placeholder("u", shape: [4, nil, nil, 9])   // unknown channels and height
        assertType(conv2d(u, filter: w), .float32, [4, 20, nil, 5])
        let d = g.placeholder("d", shape: [1, 3, 8, 8], dtype: .float64)
        let wd = g.placeholder("wd", shape: [6, 3, 3, 3], dtype: .float64)
        assertType(conv2d(d, filter: wd, strides: (2, 2), padding: .valid), .float64, [1, 6, 3, 3])
        if case .conv2d(let c) = conv2d(x, filter: w, strides: (2, 3), padding: .same, dilation: (1, 2)).node.op {
            XCTAssertEqual(c.strides.0, 2); XCTAssertEqual(c.strides.1, 3)
            XCTAssertEqual(c.dilationW, 2); XCTAssertEqual(c.padding, .same)
        } else { XCTFail() }
        assertValid(g)
    }

    /// `.same` padding splits the total evenly with the extra at the end, as TensorFlow does.
    func testSamePaddingResolution() {
        // n = 28, k = 5, s = 2: out 14, total = 13*2 + 5 - 28 = 3 -> (1, 2).
        XCTAssertTrue(Padding.same.resolve(inputLength: 28, extent: 5, stride: 2, axis: 0) == (1, 2))
        XCTAssertTrue(Padding.same.resolve(inputLength: 28, extent: 5, stride: 1, axis: 0) == (2, 2))
        XCTAssertTrue(Padding.same.resolve(inputLength: 4, extent: 1, stride: 4, axis: 0) == (0, 0))
        XCTAssertTrue(Padding.valid.resolve(inputLength: 9, extent: 3, stride: 1, axis: 1) == (0, 0))
        XCTAssertTrue(Padding.explicit(top: 1, bottom: 2, left: 3, right: 4).resolve(inputLength: 9, extent: 3, stride: 1, axis: 1) == (3, 4))
        XCTAssertEqual(windowOutputLength(input: 24, extent: 2, stride: 2, padding: (0, 0)), 12)
        XCTAssertNil(windowOutputLength(input: 2, extent: 5, stride: 1, padding: (1, 1)))
        XCTAssertNil(windowOutputLength(input: 8, extent: 5, stride: 0, padding: (0, 0)))
        XCTAssertTrue(Padding.same.resolve(inputLength: 8, extent: 3, stride: 0, axis: 0) == (0, 0))   // no division by zero
    }

    func testConv2DErrors() {
        func check(_ make: (Graph, Tensor, Tensor) -> (Tensor, Int), _ message: String,
                   x xs: Shape = [nil, 3, 8, 8], w ws: Shape = [4, 3, 3, 3], dtype: DType = .float32,
                   file: StaticString = #filePath, line: UInt = #line) {
            let g = Graph()
            let x = g.placeholder("x", shape: xs, dtype: dtype)
            let w = g.placeholder("w", shape: ws, dtype: dtype)
            let (y, l) = make(g, x, w)
            assertInvalid(g, node: y.name, message: message, location: here(l), file: file, line: line)
        }
        check({ _, x, w in (conv2d(x, filter: w), #line) }, "input has 5 channels, the filter expects 3", x: [nil, 5, 8, 8])
        check({ _, x, w in (conv2d(x, filter: w), #line) }, "rank 4", x: [3, 8, 8])
        check({ _, x, w in (conv2d(x, filter: w, strides: (0, 1)), #line) }, "strides and dilations must be positive")
        check({ _, x, w in (conv2d(x, filter: w, dilation: (1, -1)), #line) }, "strides and dilations must be positive")
        check({ _, x, w in (conv2d(x, filter: w, padding: .explicit(top: -1, bottom: 0, left: 0, right: 0)), #line) },
              "padding must be ≥ 0")
        check({ _, x, w in (conv2d(x, filter: w), #line) }, "does not fit input length 8", w: [4, 3, 9, 3])
        check({ _, x, w in (conv2d(x, filter: w, dilation: (4, 4)), #line) }, "window of extent 9")
        check({ _, x, w in (conv2d(x, filter: w), #line) }, "filter size must be known", w: [4, 3, nil, 3])
        check({ _, x, w in (conv2d(x, filter: w), #line) }, "matching floating-point", dtype: .int32)
    }

    func testPooling() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 20, 24, 24])
        for pool in [maxPool2d, avgPool2d] as [(Tensor, (Int, Int), (Int, Int)?, Padding, String, Int) -> Tensor] {
            assertType(pool(x, (2, 2), nil, .valid, #fileID, #line), .float32, [nil, 20, 12, 12])
            assertType(pool(x, (3, 3), (2, 2), .valid, #fileID, #line), .float32, [nil, 20, 11, 11])
            assertType(pool(x, (3, 3), (2, 2), .same, #fileID, #line), .float32, [nil, 20, 12, 12])
            assertType(pool(x, (3, 3), (1, 1), .explicit(top: 1, bottom: 1, left: 1, right: 1), #fileID, #line),
                       .float32, [nil, 20, 24, 24])
            assertType(pool(x, (2, 4), nil, .valid, #fileID, #line), .float32, [nil, 20, 12, 6])
        }
        XCTAssertEqual(maxPool2d(x, kernel: (2, 2)).node.op.name, "maxPool2d")
        XCTAssertEqual(avgPool2d(x, kernel: (2, 2)).node.op.name, "avgPool2d")
        let c = Pool2DConfig(kernel: (3, 2))
        XCTAssertEqual([c.strideH, c.strideW], [3, 2])
        assertValid(g)
    }

    func testPoolingErrors() {
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [nil, 2, 4, 4])
            let line = #line + 1
            let y = maxPool2d(x, kernel: (0, 2))
            assertInvalid(g, node: y.name, message: "kernel and strides must be positive", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [nil, 2, 4, 4])
            let line = #line + 1
            let y = avgPool2d(x, kernel: (5, 5))
            assertInvalid(g, node: y.name, message: "pooling window of extent 5 does not fit input length 4", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 4, 4])
            let line = #line + 1
            let y = maxPool2d(x, kernel: (2, 2))
            assertInvalid(g, node: y.name, message: "NCHW input (rank 4)", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [1, 2, 4, 4], dtype: .int32)
            let line = #line + 1
            let y = maxPool2d(x, kernel: (2, 2))
            assertInvalid(g, node: y.name, message: "floating-point", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [1, 2, 4, 4])
            let line = #line + 1
            let y = avgPool2d(x, kernel: (2, 2), padding: .explicit(top: 0, bottom: -1, left: 0, right: 0))
            assertInvalid(g, node: y.name, message: "does not fit", location: here(line))
        }
    }

    func testOneHotAndCrossEntropy() {
        let g = Graph()
        let labels = g.placeholder("labels", shape: [nil], dtype: .int32)
        let logits = g.placeholder("logits", shape: [nil, 10])
        assertType(oneHot(labels, depth: 10), .float32, [nil, 10])
        assertType(oneHot(labels, depth: 3, dtype: .float64), .float64, [nil, 3])
        let l64 = g.placeholder("l64", shape: [2, 5], dtype: .int64)
        assertType(oneHot(l64, depth: 4, dtype: .int32), .int32, [2, 5, 4])
        assertType(softmaxCrossEntropy(logits: logits, labels: labels), .float32, [nil])
        let fixed = g.placeholder("fixed", shape: [8], dtype: .int64)
        assertType(softmaxCrossEntropy(logits: logits, labels: fixed), .float32, [8])
        assertValid(g)
    }

    func testOneHotAndCrossEntropyErrors() {
        do {
            let g = Graph()
            let f = g.placeholder("f", shape: [3])
            let line = #line + 1
            let y = oneHot(f, depth: 3)
            assertInvalid(g, node: y.name, message: "integer indices", location: here(line))
        }
        do {
            let g = Graph()
            let i = g.placeholder("i", shape: [3], dtype: .int32)
            let line = #line + 1
            let y = oneHot(i, depth: 0)
            assertInvalid(g, node: y.name, message: "depth must be positive", location: here(line))
        }
        do {
            let g = Graph()
            let logits = g.placeholder("logits", shape: [nil, 10]), labels = g.placeholder("labels", shape: [nil])
            let line = #line + 1
            let y = softmaxCrossEntropy(logits: logits, labels: labels)
            assertInvalid(g, node: y.name, message: "labels must be int32 or int64", location: here(line))
        }
        do {
            let g = Graph()
            let logits = g.placeholder("logits", shape: [4, 10]), labels = g.placeholder("labels", shape: [5], dtype: .int32)
            let line = #line + 1
            let y = softmaxCrossEntropy(logits: logits, labels: labels)
            assertInvalid(g, node: y.name, message: "do not match logits", location: here(line))
        }
        do {
            let g = Graph()
            let logits = g.placeholder("logits", shape: [4, 10]), labels = g.placeholder("labels", shape: [4, 10], dtype: .int32)
            let line = #line + 1
            let y = softmaxCrossEntropy(logits: logits, labels: labels)
            assertInvalid(g, node: y.name, message: "without its last axis", location: here(line))
        }
    }

    func testDropout() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 64])
        let off = dropout(x, rate: 0.5, training: false)
        assertType(off, .float32, [nil, 64])
        XCTAssertEqual(off.node.op, .identity)
        let before = g.nodeCount
        let on = dropout(x, rate: 0.25, training: true, seed: 42)
        assertType(on, .float32, [nil, 64])
        let made = g.nodes[before...]
        let randoms = made.filter { if case .random = $0.op { return true } else { return false } }
        XCTAssertEqual(randoms.count, 1)
        if case .random(.uniform(0, 1), let seed, let shape) = randoms.first?.op {
            XCTAssertEqual(seed, 42)
            XCTAssertEqual(shape, [nil, 64])
        } else { XCTFail("\(String(describing: randoms.first?.op))") }
        XCTAssertEqual(randoms.first?.inputs, [x.id])   // shape taken from x at run time
        XCTAssertEqual(randoms.first?.shape, [nil, 64])
        XCTAssertTrue(made.allSatisfy { $0.name.hasPrefix("dropout/") }, made.map(\.name).description)
        let d = g.placeholder("d", shape: [3], dtype: .float64)
        assertType(dropout(d, rate: 0.1, training: true), .float64, [3])
        assertValid(g)
        let line = #line + 1
        let bad = dropout(x, rate: 1.5, training: true)
        assertInvalid(g, node: bad.name, message: "dropout rate must be in [0, 1), got 1.5", location: here(line))
        // A bad rate is reported even when not training (it used to pass silently).
        let g2 = Graph()
        let x2 = g2.placeholder("x", shape: [3])
        let line2 = #line + 1
        let bad2 = dropout(x2, rate: -0.5, training: false)
        assertInvalid(g2, node: bad2.name, message: "got -0.5", location: here(line2))
    }

    func testBatchNorm() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 16, 8, 8])
        let gamma = g.variable("gamma", initializer: .ones, shape: [16])
        let beta = g.variable("beta", initializer: .zeros, shape: [16])
        let rm = g.variable("rm", initializer: .zeros, shape: [16])
        let rv = g.variable("rv", initializer: .ones, shape: [16])
        let train = batchNorm(x, gamma: gamma, beta: beta, training: true)
        assertType(train, .float32, [nil, 16, 8, 8])
        XCTAssertTrue(train.name.hasPrefix("batchNorm/"), train.name)
        let infer = batchNorm(x, gamma: gamma, beta: beta, runningMean: rm, runningVariance: rv, training: false)
        assertType(infer, .float32, [nil, 16, 8, 8])
        // Inference mode reads the running statistics, not batch means.
        let start = infer.id
        var reads = Set<NodeID>(), stack = [start]
        while let n = stack.popLast() { for i in g.node(n).inputs where reads.insert(i).inserted { stack.append(i) } }
        XCTAssertTrue(reads.contains(rm.id) && reads.contains(rv.id))
        XCTAssertFalse(reads.contains { if case .reduce = g.node($0).op { return true } else { return false } })
        let x2 = g.placeholder("x2", shape: [nil, 16])
        assertType(batchNorm(x2, gamma: gamma, beta: beta, training: true), .float32, [nil, 16])
        assertType(batchNorm(x2, gamma: gamma, beta: beta, runningMean: rm, runningVariance: rv, training: false),
                   .float32, [nil, 16])
        // Negative axes count from the end (same as axes [0, 2, 3]).
        let neg = batchNorm(x, gamma: gamma, beta: beta, axes: [0, -2, -1], training: true)
        assertType(neg, .float32, [nil, 16, 8, 8])
        let gammaReshape = g.nodes.last { $0.name.hasPrefix("batchNorm/reshape") && $0.inputs == [gamma.id] }
        XCTAssertEqual(gammaReshape?.shape, [1, 16, 1, 1])
        // Per-feature statistics of a [N, C, H, W] input over the batch axis only.
        let g3 = g.variable("g3", initializer: .ones, shape: [16, 8, 8])
        let b3 = g.variable("b3", initializer: .zeros, shape: [16, 8, 8])
        assertType(batchNorm(x, gamma: g3, beta: b3, axes: [0], training: true), .float32, [nil, 16, 8, 8])
        assertValid(g)
    }

    func testRandomOps() {
        let g = Graph()
        let u = g.randomUniform(shape: [3, 4], low: -1, high: 1, seed: 7)
        let n = g.randomNormal(shape: [5], mean: 1, std: 2, seed: 8)
        assertType(u, .float32, [3, 4])
        assertType(n, .float32, [5])
        XCTAssertEqual(u.node.op, .random(.uniform(low: -1, high: 1), seed: 7, shape: [3, 4]))
        XCTAssertEqual(n.node.op.name, "randomNormal")
        XCTAssertTrue(u.node.op.hasSideEffects)
        assertValid(g)
        let line = #line + 1
        let bad = g.randomNormal(shape: [-2, 3])
        assertInvalid(g, node: bad.name, message: "known non-negative shape", location: here(line))
    }
}
