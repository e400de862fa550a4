import SymGraph

extension BenchSuite {
    /// W1 at `level`: the compiled program, the optimizer's report, per-kernel times over `runs`
    /// steps, and the step time next to the GEMM-only limit measured in the same process.
    public static func profileW1(level: OptimizationLevel = .O2, runs: Int = 200, budget: Double = 1.0) throws -> String {
        let m = Workloads.mlp()
        let (s, step) = try trainingStep(m, level: level)
        let (x, y) = Workloads.mlpData()
        let feeds: [Tensor: HostTensor] = [m.input: x, m.labels!: y]
        let fetches = [m.loss, step]
        let (program, _) = try Compiler.compile(m.graph, fetches: fetches.map(\.id),
                                                options: CompileOptions(level: level, verify: false))
        var out = ["program (\(level)):", program.dump(), "", try s.compileReport(for: fetches, feeds: feeds).description, ""]
        _ = try s.profile(fetches, feeds: feeds, runs: 20)  // warm-up
        out.append(try s.profile(fetches, feeds: feeds, runs: runs).description)
        for _ in 0..<3 {
            let t = try measure(budget: budget) { _ = try s.run(fetches, feeds: feeds) }
            let g = Limits.gemmOnlyW1Step(budget: budget)
            let r = (t.median / g.median * 100).rounded() / 100
            out.append("W1 step median \(t.median) ms (min \(t.min)); GEMM-only median \(g.median) ms (min \(g.min)); ratio \(r)×")
        }
        return out.joined(separator: "\n")
    }
}
