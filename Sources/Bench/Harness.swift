import SymGraph
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// One benchmark measurement, as written to `bench/results/latest.json`.
public struct BenchRecord: Sendable {
    public var workload: String
    /// "naive", "compiled" or "limit" (or a peer's framework name when read back from peers).
    public var mode: String
    public var n: Int?
    public var medianMs: Double?
    public var minMs: Double?
    public var check: Bool
    /// W5: the median time of a later run.
    public var runMs: Double?
    /// W6 figures: the value (ms or GB/s).
    public var value: Double?
    /// A note shown in the table (e.g. why a check failed).
    public var note: String?

    public init(workload: String, mode: String, n: Int? = nil, medianMs: Double? = nil, minMs: Double? = nil,
                check: Bool = true, runMs: Double? = nil, value: Double? = nil, note: String? = nil) {
        self.workload = workload
        self.mode = mode
        self.n = n
        self.medianMs = medianMs
        self.minMs = minMs
        self.check = check
        self.runMs = runMs
        self.value = value
        self.note = note
    }

    var json: String {
        var f: [String] = ["\"workload\": \(jsonQuote(workload))", "\"mode\": \(jsonQuote(mode))",
                           "\"n\": \(n.map(String.init) ?? "null")"]
        if value == nil || medianMs != nil {
            f.append("\"median_ms\": \(jsonNumber(medianMs))")
            f.append("\"min_ms\": \(jsonNumber(minMs))")
        }
        f.append("\"check\": \"\(check ? "ok" : "failed")\"")
        if let runMs { f.append("\"run_ms\": \(jsonNumber(runMs))") }
        if let value { f.append("\"value\": \(jsonNumber(value))") }
        if let note { f.append("\"note\": \(jsonQuote(note))") }
        return "{" + f.joined(separator: ", ") + "}"
    }
}

func jsonNumber(_ v: Double?) -> String {
    guard let v, v.isFinite else { return "null" }
    return String((v * 1e6).rounded() / 1e6)
}

/// Median and minimum of repeated timings, in milliseconds.
public struct Timing: Sendable {
    public var median: Double
    public var min: Double
}

/// Times `body`: `warmup` untimed calls, then at least `minReps` timed ones and more while within
/// `budget` seconds (at most `maxReps`).
public func measure(warmup: Int = 3, minReps: Int = 10, maxReps: Int = 500, budget: Double = 1.5,
                    _ body: () throws -> Void) rethrows -> Timing {
    for _ in 0..<warmup { try body() }
    var times: [Double] = []
    let start = monotonicSeconds()
    while times.count < minReps || (monotonicSeconds() - start < budget && times.count < maxReps) {
        let t0 = monotonicSeconds()
        try body()
        times.append((monotonicSeconds() - t0) * 1e3)
    }
    times.sort()
    return Timing(median: times[times.count / 2], min: times[0])
}

/// The machine description written with the results.
public func machineDescription() -> (cpu: String, cores: Int) {
    var cpu = "unknown"
    if let f = fopen("/proc/cpuinfo", "r") {
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var cap = 0
        while getline(&line, &cap, f) > 0, let text = line {
            let s = String(cString: text)
            if s.hasPrefix("model name"), let i = s.firstIndex(of: ":") {
                cpu = s[s.index(after: i)...].trimmingCharacters()
                break
            }
        }
        free(line)
    }
    return (cpu, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

extension Substring {
    func trimmingCharacters() -> String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" }).reversed())
    }
}

/// Writes the results JSON (`machine` and `results`) to `path`.
public func writeResults(_ records: [BenchRecord], to path: String) throws {
    let (cpu, cores) = machineDescription()
    let body = "{\n  \"machine\": {\"cpu\": \(jsonQuote(cpu)), \"cores\": \(cores), \"threads\": \(Parallelism.threads)},\n"
        + "  \"results\": [\n" + records.map { "    " + $0.json }.joined(separator: ",\n") + "\n  ]\n}\n"
    guard let f = fopen(path, "w") else { throw GraphError.invalidValue("cannot write \(path)") }
    defer { fclose(f) }
    fputs(body, f)
}
