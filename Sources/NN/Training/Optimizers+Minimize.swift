// minimize: gradients plus update subgraph in one call.

extension TrainingOptimizer {
    /// Differentiates `loss` with respect to `parameters` and builds the update subgraph.
    ///
    /// - Parameters:
    ///   - loss: A scalar loss.
    ///   - parameters: The variables to train (a frozen variable is one you leave out).
    ///   - updates: Extra ops to run with each step (e.g. a model's batch-norm ``Layer/updates``).
    /// - Returns: A `group` that runs one training step when fetched.
    /// - Throws: ``GraphError`` from differentiation (e.g. a parameter the loss does not depend on).
    public func minimize(_ loss: Tensor, _ parameters: [Tensor], updates: [Tensor] = [],
                         file: String = #fileID, line: Int = #line) throws -> Tensor {
        let grads = try loss.graph.gradients(of: loss, with: parameters, file: file, line: line)
        let step = apply(gradients: grads, to: parameters, after: [loss], file: file, line: line)
        if updates.isEmpty { return step }
        return loss.graph.withRole(.update) { loss.graph.group([step] + updates, name: "train_step", file: file, line: line) }
    }
}
