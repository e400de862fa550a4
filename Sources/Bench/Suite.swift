import SymGraph
#if canImport(Glibc)
import Glibc
#endif

/// The benchmark suite of docs/benchmarks.md: every workload in naive (O0) and compiled (O2)
/// mode, each checked against its reference before it is timed.
public struct BenchSuite {
    /// Shorter budgets and fewer sizes (a rough table in about a minute).
    public var quick: Bool
    /// Path of this executable, for the fresh-process W4 measurement (nil: measure in process).
    public var executable: String?
    /// Progress lines go here.
    public var log: (String) -> Void

    public init(quick: Bool, executable: String?, log: @escaping (String) -> Void = { print($0) }) {
        self.quick = quick
        self.executable = executable
        self.log = log
    }

    var budget: Double { quick ? 0.5 : 2.0 }
    static let levels: [(String, OptimizationLevel)] = [("naive", .O0), ("compiled", .O2)]

    static func close(_ a: Double, _ b: Double, rel: Double) -> Bool { Swift.abs(a - b) <= rel * Swift.abs(b) }

    /// Runs everything and returns the records.
    public func run() -> [BenchRecord] {
        var out: [BenchRecord] = []
        func attempt(_ name: String, _ body: () throws -> [BenchRecord]) {
            log("… \(name)")
            do { out += try body() } catch {
                out.append(BenchRecord(workload: name, mode: "error", check: false, note: "\(error)"))
                log("  \(name) failed: \(error)")
            }
        }
        for (mode, level) in Self.levels {
            attempt("W1 \(mode)") { [try mlpTrain(mode, level)] }
            attempt("W1f \(mode)") { [try mlpForward(mode, level)] }
            attempt("W2 \(mode)") { [try chain(mode, level)] }
            attempt("W3 \(mode)") { [try lenetTrain(mode, level)] }
        }
        attempt("W4") { try compileTime() }
        for (mode, level) in Self.levels {
            for n in quick ? [100, 1000] : [100, 1000, 5000, 10000] {
                attempt("W5 \(mode) N=\(n)") { [try unrolled(mode, level, n)] }
            }
        }
        attempt("W6") {
            let g = Limits.gemmOnlyW1Step(budget: budget)
            let bw = Limits.copyBandwidthGBps(budget: budget)
            return [BenchRecord(workload: "W6-gemm-only-W1", mode: "limit", medianMs: g.median, minMs: g.min, value: g.median),
                    BenchRecord(workload: "W6-copy-gbps", mode: "limit", value: bw)]
        }
        return out
    }

    // MARK: W1, W1f

    /// One SGD training step graph: (session, feeds, loss, step op).
    static func trainingStep(_ model: Workloads.Model, level: OptimizationLevel) throws -> (Session, Tensor) {
        let g = model.graph
        let grads = try g.gradients(of: model.loss, with: model.parameters)
        let updates = zip(model.parameters, grads).map { p, gr in p.assignSub(gr * 0.01) }
        let step = g.group(updates, name: "sgd_step")
        return (try Session(g, options: SessionOptions(level: level)), step)
    }

    func mlpTrain(_ mode: String, _ level: OptimizationLevel) throws -> BenchRecord {
        let m = Workloads.mlp()
        let (s, step) = try Self.trainingStep(m, level: level)
        let (x, y) = Workloads.mlpData()
        let feeds: [Tensor: HostTensor] = [m.input: x, m.labels!: y]
        let l0 = try s.run([m.loss, step], feeds: feeds)[0].doubles[0]
        let l1 = try s.run([m.loss, step], feeds: feeds)[0].doubles[0]
        let ok = Self.close(l0, Workloads.Reference.mlpLossStep0, rel: 1e-5) && Self.close(l1, Workloads.Reference.mlpLossStep1, rel: 1e-5)
        let t = try measure(budget: budget) { _ = try s.run([m.loss, step], feeds: feeds) }
        return BenchRecord(workload: "W1", mode: mode, medianMs: t.median, minMs: t.min, check: ok,
                           note: ok ? nil : "loss \(l0), \(l1)")
    }

    func mlpForward(_ mode: String, _ level: OptimizationLevel) throws -> BenchRecord {
        let m = Workloads.mlp()
        let probs = softmax(m.logits, axis: 1)
        let s = try Session(m.graph, options: SessionOptions(level: level))
        let (x, _) = Workloads.mlpData()
        let p = try s.run(probs, feeds: [m.input: x])
        let v = p.doubles
        let sum0 = stride(from: 0, to: v.count, by: 10).reduce(0.0) { $0 + v[$1] }
        let ok = Self.close(sum0, Workloads.Reference.mlpProbClass0Sum, rel: 1e-5)
        let t = try measure(budget: budget) { _ = try s.run(probs, feeds: [m.input: x]) }
        return BenchRecord(workload: "W1f", mode: mode, medianMs: t.median, minMs: t.min, check: ok, note: ok ? nil : "sum \(sum0)")
    }

    // MARK: W2

    func chain(_ mode: String, _ level: OptimizationLevel) throws -> BenchRecord {
        let (g, inputs, out) = Workloads.elementwiseChain()
        let data = Workloads.chainData()
        let s = try Session(g, options: SessionOptions(level: level))
        var feeds: [Tensor: HostTensor] = [:]
        for (t, d) in zip(inputs, data) { feeds[t] = d }
        let r = try s.run(out, feeds: feeds)
        let sum = r.withUnsafeBufferPointer(as: Float.self) { $0.reduce(0.0) { $0 + Double($1) } }
        let ok = Self.close(sum, Workloads.Reference.chainSum, rel: 1e-5)
        let t = try measure(budget: budget) { _ = try s.run(out, feeds: feeds) }
        return BenchRecord(workload: "W2", mode: mode, medianMs: t.median, minMs: t.min, check: ok, note: ok ? nil : "sum \(sum)")
    }

    // MARK: W3

    func lenetTrain(_ mode: String, _ level: OptimizationLevel) throws -> BenchRecord {
        let m = Workloads.lenet()
        let (s, step) = try Self.trainingStep(m, level: level)
        let (x, y) = Workloads.lenetData()
        let feeds: [Tensor: HostTensor] = [m.input: x, m.labels!: y]
        let l0 = try s.run([m.loss, step], feeds: feeds)[0].doubles[0]
        let l1 = try s.run([m.loss, step], feeds: feeds)[0].doubles[0]
        let ok = Self.close(l0, Workloads.Reference.lenetLossStep0, rel: 2e-5) && Self.close(l1, Workloads.Reference.lenetLossStep1, rel: 2e-5)
        let t = try measure(minReps: 5, budget: budget) { _ = try s.run([m.loss, step], feeds: feeds) }
        return BenchRecord(workload: "W3", mode: mode, medianMs: t.median, minMs: t.min, check: ok, note: ok ? nil : "loss \(l0), \(l1)")
    }

    // MARK: W4

    /// Graph definition → gradients → Session → first result of the W1 step, in milliseconds,
    /// with the step-0 loss.
    public static func compileW1Once(level: OptimizationLevel = .O2) throws -> (ms: Double, loss: Double) {
        let (x, y) = Workloads.mlpData()
        let t0 = monotonicSeconds()
        let m = Workloads.mlp()
        let (s, step) = try trainingStep(m, level: level)
        let l = try s.run([m.loss, step], feeds: [m.input: x, m.labels!: y])[0].doubles[0]
        return ((monotonicSeconds() - t0) * 1e3, l)
    }

    func compileTime() throws -> [BenchRecord] {
        var out: [BenchRecord] = []
        for (mode, level) in Self.levels {
            var times: [Double] = []
            var ok = true
            for _ in 0..<(quick ? 2 : 5) {
                let (ms, loss) = try freshProcessCompile(level: level)
                times.append(ms)
                ok = ok && Self.close(loss, Workloads.Reference.mlpLossStep0, rel: 1e-5)
            }
            times.sort()
            out.append(BenchRecord(workload: "W4", mode: mode, medianMs: times[times.count / 2], minMs: times[0], check: ok))
        }
        return out
    }

    /// Runs `symgraph bench --w4-child LEVEL` in a fresh process (falls back to in-process).
    func freshProcessCompile(level: OptimizationLevel) throws -> (Double, Double) {
        guard let exe = executable, let p = popen("'\(exe)' bench --w4-child \(level.rawValue)", "r") else {
            return try Self.compileW1Once(level: level)
        }
        var buf = [CChar](repeating: 0, count: 256)
        var text = ""
        while fgets(&buf, Int32(buf.count), p) != nil { text += String(cString: buf) }
        pclose(p)
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
        guard parts.count == 2 else { throw GraphError.invalidValue("W4 child printed '\(text)'") }
        return (parts[0], parts[1])
    }

    // MARK: W5

    func unrolled(_ mode: String, _ level: OptimizationLevel, _ n: Int) throws -> BenchRecord {
        let x0v = Workloads.unrolledData()
        let t0 = monotonicSeconds()
        let (g, x0, loss) = Workloads.unrolledChain(steps: n)
        let grad = try g.gradients(of: loss, with: [x0])[0]
        let s = try Session(g, options: SessionOptions(level: level))
        let r = try s.run([loss, grad], feeds: [x0: x0v])
        let compileMs = (monotonicSeconds() - t0) * 1e3
        let l = r[0].doubles[0]
        let ok = Self.close(l, Workloads.Reference.unrolledLoss, rel: 1e-4)
        let t = try measure(warmup: 1, minReps: 3, budget: budget) { _ = try s.run([loss, grad], feeds: [x0: x0v]) }
        return BenchRecord(workload: "W5", mode: mode, n: n, medianMs: compileMs, minMs: compileMs, check: ok, runMs: t.median,
                           note: ok ? nil : "loss \(l)")
    }
}
