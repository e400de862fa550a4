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
        let prof = try s.profile(fetches, feeds: feeds, runs: runs)
        out.append(prof.description)
        let kernels = prof.entries.reduce(0) { $0 + $1.seconds }
        out.append("kernels sum \(kernels * 1e3) ms of \(prof.secondsPerRun * 1e3) ms per run")
        for _ in 0..<3 {
            let t = try measure(budget: budget) { _ = try s.run(fetches, feeds: feeds) }
            let g = Limits.gemmOnlyW1Step(budget: budget)
            let r = (t.median / g.median * 100).rounded() / 100
            out.append("W1 step median \(t.median) ms (min \(t.min)); GEMM-only median \(g.median) ms (min \(g.min)); ratio \(r)×")
        }
        return out.joined(separator: "\n")
    }

    /// Runs `steps` W1 training steps at `level` and nothing else (for external profilers).
    public static func runW1(steps: Int, level: OptimizationLevel = .O2) throws -> Double {
        let m = Workloads.mlp()
        let (s, step) = try trainingStep(m, level: level)
        let (x, y) = Workloads.mlpData()
        let feeds: [Tensor: HostTensor] = [m.input: x, m.labels!: y]
        var loss = 0.0
        for _ in 0..<max(steps, 1) { loss = try s.run([m.loss, step], feeds: feeds)[0].doubles[0] }
        return loss
    }
}
