// Loss functions, built from graph ops.

/// How a per-example loss is reduced to what is returned.
public enum Reduction: Sendable {
    /// Per-example values, unreduced.
    case none
    /// The sum over all examples.
    case sum
    /// The mean over all examples (the default).
    case mean

    func apply(_ t: Tensor) -> Tensor {
        switch self {
        case .none: return t
        case .sum: return t.sum()
        case .mean: return t.mean()
        }
    }
}

/// Loss functions. Each returns per-example values reduced as asked (mean by default).
public enum Loss {
    /// Softmax cross-entropy against integer class labels:
    /// `logsumexp(logits) - logits[label]` per row (one stable op).
    ///
    /// - Parameters:
    ///   - logits: `[…, C]` unnormalized scores.
    ///   - labels: `[…]` int32/int64 class indices.
    public static func softmaxCrossEntropy(logits: Tensor, labels: Tensor, reduction: Reduction = .mean,
                                           file: String = #fileID, line: Int = #line) -> Tensor {
        reduction.apply(irSoftmaxCrossEntropy(logits: logits, labels: labels, file: file, line: line))
    }

    /// Softmax cross-entropy against one-hot or probability labels:
    /// `-Σ_c p_c · logSoftmax(logits)_c` per row.
    ///
    /// - Parameters:
    ///   - logits: `[…, C]` unnormalized scores.
    ///   - probabilities: `[…, C]` target distributions (rows summing to 1), e.g. `oneHot(labels, depth: C)`.
    public static func softmaxCrossEntropy(logits: Tensor, probabilities: Tensor, reduction: Reduction = .mean,
                                           file: String = #fileID, line: Int = #line) -> Tensor {
        let lsm = logits.logSoftmax(axis: -1, file: file, line: line)
        let perRow = -(probabilities.mul(lsm, file: file, line: line)).sum(axis: -1, file: file, line: line)
        return reduction.apply(perRow)
    }

    /// Sigmoid (binary) cross-entropy of `logits` against targets `z` in [0, 1], elementwise and stable:
    /// `max(x, 0) - x·z + log1p(exp(-|x|))`.
    public static func sigmoidCrossEntropy(logits: Tensor, labels: Tensor, reduction: Reduction = .mean,
                                           file: String = #fileID, line: Int = #line) -> Tensor {
        let x = logits
        let v = relu(x, file: file, line: line) - x.mul(labels, file: file, line: line)
            + log1p(exp(-abs(x, file: file, line: line), file: file, line: line), file: file, line: line)
        return reduction.apply(v)
    }

    /// Mean squared error `mean((predictions - targets)²)` (or its sum, or the elementwise squares).
    public static func meanSquaredError(_ predictions: Tensor, _ targets: Tensor, reduction: Reduction = .mean,
                                        file: String = #fileID, line: Int = #line) -> Tensor {
        let d = predictions.sub(targets, file: file, line: line)
        return reduction.apply(square(d, file: file, line: line))
    }

    /// Fraction of rows whose largest logit is at the label (a float32 scalar).
    public static func accuracy(logits: Tensor, labels: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        let pred = logits.argmax(axis: -1, file: file, line: line)
        let l = labels.dtype == .int64 ? labels : labels.cast(to: .int64, file: file, line: line)
        return pred.equal(l, file: file, line: line).cast(to: .float32, file: file, line: line).mean(file: file, line: line)
    }
}

/// The IR's integer-label op, reachable from inside `Loss` (whose method of the same name shadows it).
private func irSoftmaxCrossEntropy(logits: Tensor, labels: Tensor, file: String, line: Int) -> Tensor {
    softmaxCrossEntropy(logits: logits, labels: labels, file: file, line: line)
}
