import SymGraph
#if canImport(Glibc)
import Glibc
#endif

func fmt(_ v: Double?, _ digits: Int = 2) -> String {
    guard let v, v.isFinite else { return "—" }
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (v * p).rounded() / p
    var s = String(r)
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    }
    return s
}

func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
    let n = s.count
    if n >= w { return s }
    return right ? String(repeating: " ", count: w - n) + s : s + String(repeating: " ", count: w - n)
}

/// Renders the one-table summary of a benchmark run.
public func formatTable(_ records: [BenchRecord]) -> String {
    func find(_ w: String, _ mode: String, _ n: Int? = nil) -> BenchRecord? {
        records.first { $0.workload == w && $0.mode == mode && $0.n == n }
    }
    let gemm = find("W6-gemm-only-W1", "limit")?.value
    let copy = find("W6-copy-gbps", "limit")?.value
    var rows: [[String]] = [["workload", "naive ms", "compiled ms", "naive/compiled", "limit ratio", "check"]]
    func row(_ label: String, _ w: String, _ n: Int? = nil, limit: (BenchRecord) -> String = { _ in "" }) {
        let a = find(w, "naive", n), b = find(w, "compiled", n)
        let ratio = (a?.medianMs).flatMap { x in (b?.medianMs).map { x / $0 } }
        let check = [a, b].compactMap { $0 }.allSatisfy(\.check) && b != nil ? "ok" : "FAILED"
        rows.append([label, fmt(a?.medianMs), fmt(b?.medianMs), ratio.map { fmt($0) + "×" } ?? "—", b.map(limit) ?? "", check])
    }
    row("W1 mlp-train (ms/step)", "W1") { r in gemm.map { "\(fmt(r.medianMs! / $0))× GEMM-only" } ?? "" }
    row("W1f mlp-forward", "W1f")
    row("W2 elementwise chain", "W2") { r in
        guard let c = copy, let ms = r.medianMs else { return "" }
        let gbps = 67.108864 / ms
        return "\(fmt(gbps, 1)) GB/s = \(fmt(100 * gbps / c, 0))% of copy"
    }
    row("W3 lenet-train (ms/step)", "W3")
    row("W4 compile W1 (def→result)", "W4")
    for n in [100, 1000, 5000, 10000] where find("W5", "compiled", n) != nil || find("W5", "naive", n) != nil {
        row("W5 N=\(n) compile", "W5", n)
        let a = find("W5", "naive", n), b = find("W5", "compiled", n)
        rows.append(["W5 N=\(n) run", fmt(a?.runMs, 3), fmt(b?.runMs, 3),
                     (a?.runMs).flatMap { x in (b?.runMs).map { fmt(x / $0) + "×" } } ?? "—", "", ""])
    }
    var text = render(rows)
    text += "\nW6 limits: GEMM-only W1 step \(fmt(gemm)) ms; copy bandwidth \(fmt(copy, 1)) GB/s; threads \(Parallelism.threads)\n"
    let errors = records.filter { $0.mode == "error" || !$0.check }
    for e in errors { text += "  ! \(e.workload) \(e.mode)\(e.n.map { " N=\($0)" } ?? ""): \(e.note ?? "check failed")\n" }
    return text
}

func render(_ rows: [[String]]) -> String {
    let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
    return rows.enumerated().map { i, r in
        let line = r.enumerated().map { c, s in pad(s, widths[c], right: c > 0 && c < 4) }.joined(separator: "  ")
        return i == 0 ? line + "\n" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") : line
    }.joined(separator: "\n") + "\n"
}

/// A peer measurement read from `bench/peers/peers.py` output (one JSON object per line).
public struct PeerRecord: Sendable {
    public var framework: String
    public var workload: String
    public var n: Int?
    public var medianMs: Double?
    public var runMs: Double?
    public var check: String
    public var error: String?
}

/// Parses the JSON lines the peer script prints (one object per line; other lines are skipped).
public func parsePeerLines(_ text: String) -> [PeerRecord] {
    text.split(separator: "\n").compactMap { line -> PeerRecord? in
        guard let v = try? JSONParser.parse(Array(line.utf8)), let fw = v["framework"]?.stringValue,
              let w = v["workload"]?.stringValue else { return nil }
        return PeerRecord(framework: fw, workload: w, n: v["n"]?.doubleValue.map { Int($0) },
                          medianMs: v["median_ms"]?.doubleValue, runMs: v["run_ms"]?.doubleValue,
                          check: v["check"]?.stringValue ?? "", error: v["error"]?.stringValue)
    }
}

/// The side-by-side table: SymGraph compiled beside each peer, with the ratio peer / SymGraph.
public func formatPeerTable(_ ours: [BenchRecord], _ peers: [PeerRecord]) -> String {
    let frameworks = Array(Set(peers.map(\.framework))).sorted()
    var rows: [[String]] = [["workload", "SymGraph ms"] + frameworks.map { "\($0) ms (×)" }]
    let keys: [(String, String, Int?)] = [("W1 mlp-train", "W1", nil), ("W1f mlp-forward", "W1f", nil), ("W2 chain", "W2", nil),
                                          ("W3 lenet-train", "W3", nil), ("W4 compile W1", "W4", nil)]
        + [100, 1000, 5000, 10000].map { (n: Int) -> (String, String, Int?) in ("W5 N=\(n) def→result", "W5", n) }
    for (label, w, n) in keys {
        let mine = ours.first { $0.workload == w && $0.mode == "compiled" && $0.n == n }?.medianMs
        var row = [label, fmt(mine)]
        var any = false
        for f in frameworks {
            if let p = peers.first(where: { $0.framework == f && $0.workload == w && $0.n == n }) {
                any = true
                if let e = p.error { row.append("error: \(e.prefix(30))"); continue }
                let ratio = (p.medianMs).flatMap { x in mine.map { x / $0 } }
                row.append("\(fmt(p.medianMs)) (\(ratio.map { fmt($0) } ?? "—")×)\(p.check == "ok" ? "" : " CHECK FAILED")")
            } else { row.append("—") }
        }
        if any || mine != nil { rows.append(row) }
    }
    var text = render(rows)
    for p in peers where p.workload == "error" { text += "  ! \(p.framework): \(p.error ?? "failed")\n" }
    text += "(×) = peer time / SymGraph time: above 1 means SymGraph is faster.\n"
    return text
}
