// Gradient checking by central finite differences (PyTensor's verify_grad), shipped in the
// library so users can check their own functions the way the tests check every op.

@_exported import Graph

/// Compares reverse-mode gradients with central finite differences in Float64 and returns
/// the worst relative error over `projections` random directions.
///
/// The function `build` is built over Float64 placeholders shaped like `inputs` (integer and
/// bool inputs, such as labels or indices, are fed as they are and not perturbed). Its output
/// `f` is projected to a scalar with a fixed random cotangent `c`, `s = sum(f * c)`, and
/// differentiated with ``Graph/gradients(of:with:cotangent:disconnected:file:line:)``.
/// For each random direction `d` (uniform in [-1, 1) per element of every floating-point
/// input) it compares the analytic directional derivative `a = Σ ⟨∇s, d⟩` with the numeric one,
/// `n = (s(x + εd) - s(x - εd)) / 2ε`, and reports `|a - n| / max(|a|, |n|, 1e-3)`.
///
/// Choose points away from kinks (relu and abs at 0, ties of max/min): there the two
/// one-sided derivatives differ and no gradient can match a central difference.
///
/// ```swift
/// let err = try checkGradient({ g, x in tanh(x[0].matmul(x[1])) },
///                             at: [a, b])   // a, b: HostTensors
/// assert(err < 1e-6)
/// ```
///
/// - Parameters:
///   - build: Builds the function in the given graph from the placeholders (one per input).
///   - inputs: The point: one value per placeholder (floating-point values are converted to Float64).
///   - projections: The number of random directions.
///   - epsilon: The finite-difference step.
///   - seed: Seed of the random cotangent and directions.
///   - options: Session options (default: the optimizing pipeline).
///   - shapes: Static shapes of the placeholders (default: the inputs' shapes). Pass unknown
///     dimensions (`[nil, 3]`) to check that the gradient rules handle run-time shapes.
/// - Returns: The worst relative error (0 when the function has no floating-point input).
/// - Throws: ``GraphError`` from building, differentiating or running the function, or when
///   a value is not finite.
public func checkGradient(_ build: (Graph, [Tensor]) throws -> Tensor, at inputs: [HostTensor],
                          projections: Int = 3, epsilon: Double = 1e-6, seed: UInt64 = 0,
                          options: SessionOptions = SessionOptions(), shapes: [Shape]? = nil) throws -> Double {
    let graph = Graph()
    let point = inputs.map { $0.dtype.isFloatingPoint ? $0.converted(to: .float64) : $0 }
    if let shapes, shapes.count != inputs.count || zip(shapes, point).contains(where: { !$0.accepts($1.shape) }) {
        throw GraphError.invalidValue("checkGradient: shapes \(shapes) do not fit the inputs' shapes \(point.map(\.shape))")
    }
    let placeholders = point.enumerated().map { k, v in
        graph.placeholder("input\(k)", shape: shapes?[k] ?? Shape(known: v.shape), dtype: v.dtype)
    }
    let floating = point.indices.filter { point[$0].dtype.isFloatingPoint }
    let output = try build(graph, placeholders)
    guard output.dtype.isFloatingPoint else {
        throw GraphError.invalidValue("checkGradient: the function gives \(output.dtype), not a floating-point value")
    }
    let f = output.dtype == .float64 ? output : output.cast(to: .float64)
    let session = try Session(graph, options: options)
    func feeds(_ values: [HostTensor]) -> [Tensor: HostTensor] {
        Dictionary(uniqueKeysWithValues: zip(placeholders, values))
    }
    // A fixed random cotangent shaped like the output's run-time value.
    let y = try session.run(f, feeds: feeds(point))
    let cotangent = try HostTensor(DeterministicRandom.uniformDoubles(count: y.count, seed: seed &+ 7919, low: -1, high: 1),
                                   shape: y.shape)
    let s = (f * graph.constant(cotangent, name: "cotangent")).sum()
    let targets = floating.map { placeholders[$0] }
    guard !targets.isEmpty else { return 0 }
    let grads = try graph.gradients(of: s, with: targets, disconnected: .zeros)
    let analytic = try session.run(grads, feeds: feeds(point)).map(\.doubles)

    func value(_ values: [HostTensor]) throws -> Double {
        guard let v = try session.run(s, feeds: feeds(values)).scalarValue, v.isFinite else {
            throw GraphError.invalidValue("checkGradient: the projected function is not finite near the point")
        }
        return v
    }
    var worst = 0.0
    for p in 0..<Swift.max(projections, 1) {
        var plus = point, minus = point
        var a = 0.0
        for (j, k) in floating.enumerated() {
            let x = point[k].doubles
            let d = DeterministicRandom.uniformDoubles(count: x.count, seed: seed &+ UInt64(1000 * (p + 1) + k), low: -1, high: 1)
            for i in 0..<x.count {
                guard analytic[j][i].isFinite else {
                    throw GraphError.invalidValue("checkGradient: the gradient of input \(k) is not finite at element \(i)")
                }
                a += analytic[j][i] * d[i]
            }
            plus[k] = try HostTensor(zip(x, d).map { $0 + epsilon * $1 }, shape: point[k].shape)
            minus[k] = try HostTensor(zip(x, d).map { $0 - epsilon * $1 }, shape: point[k].shape)
        }
        let n = (try value(plus) - value(minus)) / (2 * epsilon)
        let err = Swift.abs(a - n) / Swift.max(Swift.abs(a), Swift.abs(n), 1e-3)
        worst = Swift.max(worst, err)
    }
    return worst
}
