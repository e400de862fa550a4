extension Graph {
    /// A text listing of the graph, one line per node:
    /// `%12 layer1/matmul  matmul(tB)  f32[?, 512]  (%3 x, %7 layer1/w)  @ main.swift:14`.
    ///
    /// - Parameter nodes: Restrict to these node ids (default: all); ids not in the graph are skipped.
    public func dump(nodes ids: [NodeID]? = nil) -> String {
        let all = nodes
        let chosen = ids.map { $0.filter { all.indices.contains($0) }.map { all[$0] } } ?? all  // unknown ids are skipped
        let idWidth = String(all.count).count + 1
        let nameWidth = Swift.min(chosen.map(\.name.count).max() ?? 0, 40)
        let opWidth = Swift.min(chosen.map(\.op.name.count).max() ?? 0, 28)
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        var lines: [String] = []
        lines.reserveCapacity(chosen.count)
        // Names are user text: keep each node on one line whatever they contain.
        func oneLine(_ s: String) -> String { s.contains(where: \.isNewline) ? String(s.map { $0.isNewline ? " " : $0 }) : s }
        for n in chosen {
            let ins = n.inputs.map { "%\($0)" }.joined(separator: ", ")
            let ctl = n.controlInputs.isEmpty ? "" : " ^[" + n.controlInputs.map { "%\($0)" }.joined(separator: ", ") + "]"
            let role = n.role == .forward ? "" : " [\(n.role.rawValue)]"
            lines.append(pad("%\(n.id)", idWidth) + " " + pad(oneLine(n.name), nameWidth) + "  " + pad(n.op.name, opWidth) + "  "
                         + pad("\(n.dtype.shortName)\(n.shape)", 18) + "  (" + ins + ")" + ctl + role + "  @ \(n.location)")
        }
        return lines.joined(separator: "\n")
    }
}
