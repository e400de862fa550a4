import Graph

/// The first graph node whose value differs between an optimized plan and the naive (O0) one.
public struct Divergence: Sendable, CustomStringConvertible {
    /// The graph node.
    public var node: NodeID
    /// Its name.
    public var name: String
    /// Its op (as in the O0 plan).
    public var op: String
    /// Where the user created it.
    public var location: SourceLocation
    /// The O0 value.
    public var reference: HostTensor
    /// The optimized value.
    public var optimized: HostTensor
    /// The largest elementwise difference (Inf when shapes, NaN positions or infinities disagree).
    public var maxDifference: Double

    /// The node, its creation site, the difference and both values.
    public var description: String {
        "\(location): node '\(name)' (\(op)) differs between O0 and the optimized plan by \(maxDifference)"
            + "\n  O0:        \(reference)\n  optimized: \(optimized)"
    }
}

/// Debug mode: runs the optimized and the O0 plan of the same fetches on the same feeds and
/// names the first node (in O0 program order) whose values differ beyond tolerance.
///
/// Instructions are matched through `origin` (the graph node an instruction computes); nodes
/// with no instruction in the optimized plan (fused, folded or merged away) are skipped.
public enum PlanComparison {
    /// Compares the values of two compiled plans.
    ///
    /// - Parameters:
    ///   - evaluate: runs a program on the caller's feeds and returns every instruction's value
    ///     (nil where the runtime did not keep it). The Session supplies it; it must start both
    ///     runs from the same variable values (stateful ops would otherwise apply twice).
    ///   - relativeTolerance, absoluteTolerance: `|a − b| ≤ atol + rtol·|a|` passes; NaN matches NaN,
    ///     an infinity matches the same infinity.
    /// - Returns: the first divergence, or nil when every shared node agrees.
    public static func firstDivergence(
        _ graph: Graph, fetches: [NodeID], options: CompileOptions = CompileOptions(),
        relativeTolerance: Double = 1e-4, absoluteTolerance: Double = 1e-5,
        evaluate: (Program) throws -> [HostTensor?]
    ) throws -> Divergence? {
        var naiveOptions = options
        naiveOptions.level = .O0
        let (naive, _) = try Compiler.compile(graph, fetches: fetches, options: naiveOptions)
        let (optimized, _) = try Compiler.compile(graph, fetches: fetches, options: options)
        return try compare(naive: naive, optimized: optimized, relativeTolerance: relativeTolerance,
                           absoluteTolerance: absoluteTolerance, evaluate: evaluate)
    }

    /// Compares two already compiled programs of the same fetches (see ``firstDivergence(_:fetches:options:relativeTolerance:absoluteTolerance:evaluate:)``).
    public static func compare(naive: Program, optimized: Program, relativeTolerance: Double = 1e-4,
                               absoluteTolerance: Double = 1e-5, evaluate: (Program) throws -> [HostTensor?]) throws -> Divergence? {
        let a = try evaluate(naive)
        let b = try evaluate(optimized)
        var byOrigin: [NodeID: Int] = [:]
        for (i, ins) in optimized.instructions.enumerated() {
            if let o = ins.origin, byOrigin[o] == nil { byOrigin[o] = i }
        }
        for (i, ins) in naive.instructions.enumerated() {
            if case .group = ins.op { continue }
            guard let o = ins.origin, let j = byOrigin[o], i < a.count, j < b.count,
                  let x = a[i], let y = b[j] else { continue }
            let d = difference(x, y, rtol: relativeTolerance, atol: absoluteTolerance)
            if d.fails {
                return Divergence(node: o, name: ins.name, op: ins.op.name, location: ins.location,
                                  reference: x, optimized: y, maxDifference: d.max)
            }
        }
        return nil
    }

    static func difference(_ x: HostTensor, _ y: HostTensor, rtol: Double, atol: Double) -> (fails: Bool, max: Double) {
        guard x.shape == y.shape else { return (true, .infinity) }
        let u = x.doubles, v = y.doubles
        var worst = 0.0
        var fails = false
        for k in 0..<u.count {
            let p = u[k], q = v[k]
            if p.isNaN || q.isNaN {
                if p.isNaN != q.isNaN { fails = true; worst = .infinity }
                continue
            }
            if p.isInfinite || q.isInfinite {
                if p != q { fails = true; worst = .infinity }
                continue
            }
            let d = Swift.abs(p - q)
            worst = Swift.max(worst, d)
            if d > atol + rtol * Swift.abs(p) { fails = true }
        }
        return (fails, worst)
    }
}
