import Graph

// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (what PyTorch's CrossEntropyLoss and
// NLLLoss export to): the class axis is 1, targets select a class per position through a
// one-hot product, `ignore_index` positions weigh nothing, and `mean` divides by the summed
// weights of the positions that count.

extension NodeContext {
    /// The NLL loss of `logProb` [N, C, d…] against integer `target` [N, d…].
    func nllLoss(_ logProb: Tensor, _ target: Tensor, weight: Tensor?) throws -> Tensor {
        guard logProb.rank >= 2, target.rank == logProb.rank - 1, target.dtype.isInteger else {
            throw fail("needs input [N, C, …] and integer target [N, …], got \(logProb.shape) and \(target.dtype)\(target.shape)")
        }
        guard let classes = logProb.shape.dims[1] else { throw fail("needs a known class count, got \(logProb.shape)") }
        let dtype = logProb.dtype
        // [N, d…, C] one-hot, moved to [N, C, d…].
        var perm = [0, logProb.rank - 1]
        perm += Array(1..<(logProb.rank - 1))
        let hot = oneHot(target, depth: classes, dtype: dtype).transposed(perm)
        let picked = (logProb * hot).sum(axes: [1])                                   // [N, d…]
        var w: Tensor = weight.map { (hot * $0.reshaped([1, classes] + Array(repeating: 1, count: logProb.rank - 2))).sum(axes: [1]) }
            ?? hot.sum(axes: [1])   // 1 where the target is a class, 0 otherwise
        if let ignore = try attr("ignore_index").map({ Int($0.i) }) {
            let keep = target .!= g.constant(HostTensor(filled: Double(ignore), dtype: target.dtype, shape: []))
            w = `where`(keep, w, scalar(0, dtype))
        }
        let loss = -(picked * w)
        switch try string("reduction", "mean") {
        case "none": return loss
        case "sum": return loss.sum()
        case "mean": return loss.sum() / w.sum()
        case let r: throw fail("reduction '\(r)' is not one of none, sum, mean")
        }
    }

    func nllLossOp() throws -> Tensor {
        try nllLoss(try input(0), try input(1), weight: try optInput(2))
    }

    func softmaxCrossEntropyLossOp() throws -> [Tensor?] {
        let scores = try input(0)
        guard scores.dtype.isFloatingPoint, scores.rank >= 2 else { throw fail("needs float scores [N, C, …], got \(scores.dtype)\(scores.shape)") }
        let logProb = scores.logSoftmax(axis: 1)
        return [try nllLoss(logProb, try input(1), weight: try optInput(2)), logProb]
    }
}
