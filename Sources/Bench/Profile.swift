import SymGraph

extension BenchSuite {
    /// W1 at `level`: the compiled program, the optimizer's report, per-kernel times over `runs`
    /// steps, and the step time next to the GEMM-only limit measured in the same process.
    public static func profileW1(level: OptimizationLevel = .O2, runs: Int = 200, pairs: Int = 1000) throws -> String {
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
        out.append(try interleavedW1(session: s, fetches: fetches, feeds: feeds, pairs: pairs))
        return out.joined(separator: "\n")
    }

    /// W1 steps and GEMM-only steps timed alternately, one of each per pair, so both see the same
    /// load on a shared machine: their medians, 10th percentiles and minima, and the median of the
    /// per-pair ratios.
    static func interleavedW1(session s: Session, fetches: [Tensor], feeds: [Tensor: HostTensor], pairs: Int) throws -> String {
        let (gemm, free) = Limits.gemmOnlyW1Runner()
        defer { free() }
        for _ in 0..<5 { _ = try s.run(fetches, feeds: feeds); gemm() }
        var a: [Double] = [], b: [Double] = [], r: [Double] = []
        for _ in 0..<max(pairs, 1) {
            let t0 = monotonicSeconds()
            _ = try s.run(fetches, feeds: feeds)
            let t1 = monotonicSeconds()
            gemm()
            let t2 = monotonicSeconds()
            a.append((t1 - t0) * 1e3); b.append((t2 - t1) * 1e3); r.append((t1 - t0) / (t2 - t1))
        }
        a.sort(); b.sort(); r.sort()
        func f(_ x: Double) -> String { String((x * 1000).rounded() / 1000) }
        let p10 = a.count / 10, mid = a.count / 2
        return "interleaved \(a.count) pairs: W1 step median \(f(a[mid])) p10 \(f(a[p10])) min \(f(a[0])) ms; "
            + "GEMM-only median \(f(b[mid])) p10 \(f(b[p10])) min \(f(b[0])) ms; "
            + "ratio of medians \(f(a[mid] / b[mid]))×, of p10 \(f(a[p10] / b[p10]))×, median per-pair ratio \(f(r[mid]))×"
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
