/// One box of a picture before layout: a graph node or a program instruction.
struct VizItem {
    var op: Op
    var name: String
    var dotID: String
    var dtype: DType
    var shape: Shape
    var role: NodeRole
    var inputs: [Int]
    var controlInputs: [Int]
    var isInvalid: Bool
    var isOutput: Bool
    var location: SourceLocation

    /// The name scope's components (`["dense1"]` for `dense1/matmul`).
    var scopeParts: [Substring] {
        guard let i = name.lastIndex(of: "/") else { return [] }
        return name[..<i].split(separator: "/", omittingEmptySubsequences: false)
    }
    /// The name without its scope.
    var baseName: String {
        guard let i = name.lastIndex(of: "/") else { return name }
        return String(name[name.index(after: i)...])
    }
}

extension VizItem {
    /// The items of a graph, one per node.
    static func items(of graph: Graph) -> [VizItem] {
        graph.nodes.map { n in
            VizItem(op: n.op, name: n.name, dotID: n.name, dtype: n.dtype, shape: n.shape, role: n.role,
                    inputs: n.inputs, controlInputs: n.controlInputs, isInvalid: n.isInvalid, isOutput: false,
                    location: n.location)
        }
    }

    /// The items of a program, one per instruction (duplicate names get a `#index` suffix).
    static func items(of program: Program) -> [VizItem] {
        var seen = Set<String>()
        let outputs = Set(program.outputs)
        return program.instructions.enumerated().map { i, ins in
            var id = ins.name
            if !seen.insert(id).inserted { id = "\(ins.name)#\(i)"; seen.insert(id) }
            return VizItem(op: ins.op, name: ins.name, dotID: id, dtype: ins.dtype, shape: ins.shape, role: ins.role,
                           inputs: ins.inputs, controlInputs: ins.controlInputs, isInvalid: false,
                           isOutput: outputs.contains(i), location: ins.location)
        }
    }
}

/// The op's kind without attributes (`sum` for `sum[0]k`), for summaries.
func opKind(_ op: Op) -> String {
    let n = op.name
    if let i = n.firstIndex(where: { $0 == "(" || $0 == "[" }) { return String(n[..<i]) }
    return n
}

/// The op as drawn: `Op.name`, with scalar constants printed at their own precision.
func opLabel(_ op: Op) -> String {
    if case .constant(let t) = op {
        guard t.count == 1, let v = t.doubles.first else { return "const" }
        switch t.dtype {
        case .float32: return "const(\(Float(v)))"
        case .int32, .int64: return "const(\(Int(exactly: v.rounded()) ?? 0))"
        case .bool: return "const(\(v != 0))"
        case .float64: return "const(\(v))"
        }
    }
    return op.name
}

/// Turns items into DOT text: scope collapsing, the size cap, fused-kernel clusters, styles.
struct DOTWriter {
    let items: [VizItem]
    let options: DOTOptions
    /// Lines under the title describing what was collapsed (filled by `write`).
    private(set) var notes: [String] = []

    init(items: [VizItem], options: DOTOptions) {
        self.items = items
        self.options = options
    }

    // MARK: Units: what each item is drawn as

    enum Unit: Hashable {
        case item(Int)
        case scope(String)
        case summary
    }

    struct Assignment {
        var unitOf: [Int] = []
        var units: [Unit] = []
        /// Members of each unit (items).
        var members: [[Int]] = []
        var boxCount = 0
        var fusedBodies = true
        var depth: Int?
        var summarized = 0
    }

    /// Boxes drawn for a fused kernel's body.
    private func bodyBoxes(_ op: Op) -> Int? {
        switch op {
        case .fused(let p): return p.steps.count
        case .linear(_, _, let act): return act == nil ? 2 : 3
        case .fusedReduce(_, _, _, let p): return p.steps.count + 1
        default: return nil
        }
    }

    private func assign(depth: Int?, fusedBodies: Bool) -> Assignment {
        var a = Assignment()
        a.depth = depth
        a.fusedBodies = fusedBodies
        a.unitOf.reserveCapacity(items.count)
        var index: [Unit: Int] = [:]
        for (i, item) in items.enumerated() {
            let parts = item.scopeParts
            var cut: Int? = nil
            if !options.collapsedScopes.isEmpty, !parts.isEmpty {
                for k in 1...parts.count where options.collapsedScopes.contains(parts[0..<k].joined(separator: "/")) {
                    cut = k; break
                }
            }
            if let d = depth, parts.count > d { cut = Swift.min(cut ?? Int.max, d + 1) }
            let unit: Unit = cut.map { .scope(parts[0..<$0].joined(separator: "/")) } ?? .item(i)
            if let u = index[unit] {
                a.unitOf.append(u)
                a.members[u].append(i)
            } else {
                index[unit] = a.units.count
                a.unitOf.append(a.units.count)
                a.units.append(unit)
                a.members.append([i])
                if case .item = unit, fusedBodies, let b = bodyBoxes(item.op) { a.boxCount += b } else { a.boxCount += 1 }
            }
        }
        return a
    }

    /// Chooses collapsing so that at most `maxNodes` boxes are drawn.
    private mutating func plan() -> Assignment {
        let maxDepth = items.map { $0.scopeParts.count }.max() ?? 0
        var depth = options.collapseDepth.map { Swift.max(0, $0) }
        var a = assign(depth: depth, fusedBodies: options.showFusedBodies)
        guard let cap = options.maxNodes.map({ Swift.max(3, $0) }) else { return a }
        var d = Swift.min(depth ?? maxDepth, maxDepth)
        while a.boxCount > cap && d > 0 {
            d -= 1
            depth = d
            a = assign(depth: depth, fusedBodies: a.fusedBodies)
        }
        if a.boxCount > cap && a.fusedBodies && items.contains(where: { bodyBoxes($0.op) != nil }) {
            a = assign(depth: depth, fusedBodies: false)
        }
        let head = (cap - 1) / 2, tail = cap - 1 - head
        if a.boxCount > cap && a.units.count > head + tail + 1 {
            // Summarize the middle (in execution order) into one box.
            let n = a.units.count
            var newIndex = [Int](repeating: 0, count: n)
            var units: [Unit] = [], members: [[Int]] = []
            for u in 0..<n {
                if u < head || u >= n - tail {
                    newIndex[u] = units.count
                    units.append(a.units[u]); members.append(a.members[u])
                } else if u == head {
                    newIndex[u] = units.count
                    units.append(.summary); members.append(a.members[u])
                } else {
                    newIndex[u] = head
                    members[head] += a.members[u]
                }
            }
            a.summarized = members[head].count
            a.unitOf = a.unitOf.map { newIndex[$0] }
            a.units = units
            a.members = members
            a.boxCount = units.count
        }
        if depth != options.collapseDepth.map({ Swift.max(0, $0) }) || a.summarized > 0
            || a.fusedBodies != options.showFusedBodies {
            var what: [String] = []
            if let d = depth, d < maxDepth, d != options.collapseDepth { what.append("scopes deeper than \(d) collapsed") }
            if a.fusedBodies != options.showFusedBodies { what.append("fused kernel bodies hidden") }
            if a.summarized > 0 { what.append("\(a.summarized) nodes in the middle summarized into one box") }
            if !what.isEmpty {
                notes.append("size cap of \(cap) boxes (\(items.count) nodes): " + what.joined(separator: "; "))
            }
        }
        return a
    }

    // MARK: Writing

    func quoted(_ s: String) -> String { "\"" + dotEscape(s) + "\"" }

    /// DOT text of a label made of lines, each escaped; `left` aligns the lines left.
    func label(_ lines: [String], left: Bool = false) -> String {
        let sep = left ? "\\l" : "\\n"
        return "\"" + lines.map(dotEscape).joined(separator: sep) + (left ? "\\l" : "") + "\""
    }

    private func truncated(_ s: String, _ n: Int = 48) -> String {
        s.count <= n ? s : String(s.prefix(n - 1)) + "…"
    }

    private func roleColors(_ role: NodeRole) -> (fill: String, border: String) {
        switch role {
        case .forward: return ("#ffffff", "#444444")
        case .gradient: return ("#fde2e1", "#c0392b")
        case .update: return ("#e3f4e1", "#2e7d32")
        }
    }

    /// Label and style attributes of a plain item box.
    private func itemAttributes(_ item: VizItem, inScopeCluster: Bool) -> String {
        let opText = truncated(opLabel(item.op))
        let nameText = truncated(inScopeCluster ? item.baseName : item.name)
        // The name is drawn only when it says more than the op (`dense1/matmul` under `matmul`).
        var lines = nameText == opText || nameText == item.op.name || nameText == opKind(item.op) ? [opText] : [opText, nameText]
        lines.append("\(item.dtype.shortName)\(item.shape)")
        if options.showLocations { lines.append(item.location.description) }
        if item.isInvalid { lines.append("(invalid)") }
        var (fill, border) = roleColors(item.role)
        var shape = "box", style = "filled,rounded", extra = ""
        switch item.op {
        case .placeholder:
            shape = "invhouse"; style = "filled"; if item.role == .forward { fill = "#d6e9ff"; border = "#1f5fa8" }
        case .variable:
            shape = "cylinder"; style = "filled"; if item.role == .forward { fill = "#fff2b3"; border = "#9a7d0a" }
        case .constant:
            style = "filled,rounded,dashed"; extra = ", fontsize=9, fontcolor=\"#555555\""
            if item.role == .forward { fill = "#f0f0f0"; border = "#888888" }
        case .assign, .assignMatMul, .group:
            shape = "hexagon"
        case .fused, .linear, .fusedReduce:
            shape = "box3d"; if item.role == .forward { fill = "#fff4e5"; border = "#e67e22" }
        default: break
        }
        if item.role == .gradient && item.op.isSource == false { style += ",bold" }
        if item.isInvalid { border = "#ff0000"; extra += ", penwidth=2.5" }
        if item.isOutput { extra += ", peripheries=2" }
        return "label=\(label(lines)), shape=\(shape), style=\"\(style)\", fillcolor=\"\(fill)\", color=\"\(border)\"\(extra)"
    }

    /// Writes the whole picture.
    mutating func write() -> String {
        let a = plan()
        var out = "digraph \"symgraph\" {\n"
        out += "  graph [rankdir=\(options.leftToRight ? "LR" : "TB"), fontname=\"Helvetica\", fontsize=11, nodesep=0.25, ranksep=0.35, newrank=true"
        let head = (options.title.map { [$0] } ?? []) + (options.caption.map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } ?? [])
            + notes
        if !head.isEmpty { out += ", labelloc=t, labeljust=l, label=\(label(head, left: true))" }
        out += "];\n"
        out += "  node [fontname=\"Helvetica\", fontsize=10, margin=\"0.08,0.03\", height=0.3];\n"
        out += "  edge [color=\"#555555\", arrowsize=0.6];\n"

        // Cluster tree of open scopes.
        final class Cluster {
            var children: [String: Cluster] = [:]
            var order: [String] = []
            var units: [Int] = []
            func child(_ k: String) -> Cluster {
                if let c = children[k] { return c }
                let c = Cluster(); children[k] = c; order.append(k); return c
            }
        }
        let root = Cluster()
        for (u, unit) in a.units.enumerated() {
            var path: [Substring] = []
            if options.showScopes {
                switch unit {
                case .item(let i): path = items[i].scopeParts
                case .scope(let s): path = s.split(separator: "/", omittingEmptySubsequences: false).dropLast()
                case .summary: path = []
                }
            }
            var c = root
            for p in path { c = c.child(String(p)) }
            c.units.append(u)
        }

        var clusterCounter = 0
        func emitUnit(_ u: Int, indent: String, inScope: Bool) {
            switch a.units[u] {
            case .item(let i):
                let item = items[i]
                if a.fusedBodies, bodyBoxes(item.op) != nil {
                    clusterCounter += 1
                    emitKernel(item, index: i, cluster: clusterCounter, indent: indent)
                } else {
                    out += indent + quoted(item.dotID) + " [" + itemAttributes(item, inScopeCluster: inScope) + "];\n"
                }
            case .scope(let s):
                let m = a.members[u]
                var kinds: [String: Int] = [:]
                var roles: [NodeRole: Int] = [:]
                for i in m { kinds[opKind(items[i].op), default: 0] += 1; roles[items[i].role, default: 0] += 1 }
                let top = kinds.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(4)
                    .map { $0.value > 1 ? "\($0.key) ×\($0.value)" : $0.key }
                let role = roles.max { $0.value < $1.value }?.key ?? .forward
                var (fill, border) = roleColors(role)
                if role == .forward { fill = "#ece6f7"; border = "#5e3c99" }
                let lines = [s, "\(m.count) nodes (collapsed scope)", top.joined(separator: ", ") + (kinds.count > 4 ? ", …" : "")]
                out += indent + quoted("[scope] " + s) + " [label=\(label(lines)), shape=box3d, style=filled, fillcolor=\"\(fill)\", color=\"\(border)\"];\n"
            case .summary:
                let m = a.members[u]
                var kinds: [String: Int] = [:]
                for i in m { kinds[opKind(items[i].op), default: 0] += 1 }
                let top = kinds.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(5)
                    .map { "\($0.key) ×\($0.value)" }
                let lines = ["… \(m.count) nodes summarized …", top.joined(separator: ", ") + (kinds.count > 5 ? ", …" : ""),
                             "(the picture's size cap; raise max nodes to see them)"]
                out += indent + quoted("[summary]") + " [label=\(label(lines)), shape=note, style=\"filled,dashed\", fillcolor=\"#eeeeee\", color=\"#777777\"];\n"
            }
        }

        func emitKernel(_ item: VizItem, index: Int, cluster: Int, indent: String) {
            let (fill, border) = item.role == .forward ? ("#fff4e5", "#e67e22") : roleColors(item.role)
            let title = [truncated(item.op.name) + " · " + truncated(item.name), "\(item.dtype.shortName)\(item.shape)"]
            out += indent + "subgraph \"cluster_k\(cluster)\" {\n"
            let ind = indent + "  "
            out += ind + "label=\(label(title)); style=\"filled,rounded\"; fillcolor=\"\(fill)\"; color=\"\(border)\"; fontsize=10;\n"
            let small = "shape=box, style=\"filled,rounded\", fillcolor=\"#ffffff\", color=\"\(border)\", fontsize=9, height=0.22"
            func stepNodes(_ p: FusedProgram) {
                for (k, s) in p.steps.enumerated() {
                    let id = quoted(item.dotID + "::r\(k)")
                    let text: String
                    var operands: [Int] = []
                    switch s {
                    case .input(let j):
                        let src = j < item.inputs.count ? items[item.inputs[j]].baseName : "?"
                        text = "in\(j): \(truncated(src, 24))"
                    case .constant(let c): text = "\(c)"
                    case .unary(let f, let x): text = f.name; operands = [x]
                    case .binary(let f, let x, let y): text = f.rawValue; operands = [x, y]
                    case .select(let c, let x, let y): text = "where"; operands = [c, x, y]
                    case .cast(let d, let x): text = "cast(\(d.shortName))"; operands = [x]
                    }
                    out += ind + id + " [label=\(label([text])), \(small)];\n"
                    for o in operands where o >= 0 && o < k {
                        out += ind + quoted(item.dotID + "::r\(o)") + " -> " + id + ";\n"
                    }
                }
            }
            switch item.op {
            case .fused(let p):
                stepNodes(p)
            case .linear(let ta, let tb, let act):
                let mm = Op.matmul(transposeA: ta, transposeB: tb).name
                out += ind + quoted(item.dotID + "::mm") + " [label=\(label([mm])), \(small)];\n"
                out += ind + quoted(item.dotID + "::bias") + " [label=\(label(["+ bias"])), \(small)];\n"
                out += ind + quoted(item.dotID + "::mm") + " -> " + quoted(item.dotID + "::bias") + ";\n"
                if let f = act {
                    out += ind + quoted(item.dotID + "::act") + " [label=\(label([f.name])), \(small)];\n"
                    out += ind + quoted(item.dotID + "::bias") + " -> " + quoted(item.dotID + "::act") + ";\n"
                }
            case .fusedReduce(let f, let axes, let keep, let p):
                stepNodes(p)
                out += ind + quoted(item.dotID + "::reduce") + " [label=\(label(["\(f.rawValue)\(axes)\(keep ? "k" : "")"])), \(small)];\n"
                if !p.steps.isEmpty {
                    out += ind + quoted(item.dotID + "::r\(p.steps.count - 1)") + " -> " + quoted(item.dotID + "::reduce") + ";\n"
                }
            default: break
            }
            out += indent + "}\n"
        }

        func emitCluster(_ c: Cluster, path: [String], indent: String) {
            for u in c.units { emitUnit(u, indent: indent, inScope: !path.isEmpty) }
            for k in c.order {
                guard let child = c.children[k] else { continue }
                clusterCounter += 1
                let p = path + [k]
                out += indent + "subgraph \"cluster_s\(clusterCounter)\" {\n"
                out += indent + "  label=\(label([p.joined(separator: "/")])); style=\"dashed,rounded\"; color=\"#8888aa\"; fontcolor=\"#444466\";\n"
                emitCluster(child, path: p, indent: indent + "  ")
                out += indent + "}\n"
            }
        }
        emitCluster(root, path: [], indent: "  ")

        // Edges, deduplicated between boxes.
        func unitID(_ u: Int) -> String {
            switch a.units[u] {
            case .item(let i): return items[i].dotID
            case .scope(let s): return "[scope] " + s
            case .summary: return "[summary]"
            }
        }
        func source(_ u: Int) -> String {
            if case .item(let i) = a.units[u], a.fusedBodies {
                switch items[i].op {
                case .fused(let p): return items[i].dotID + "::r\(Swift.max(0, p.steps.count - 1))"
                case .linear(_, _, let act): return items[i].dotID + (act == nil ? "::bias" : "::act")
                case .fusedReduce: return items[i].dotID + "::reduce"
                default: break
                }
            }
            return unitID(u)
        }
        func targets(_ v: Int, operand k: Int) -> [String] {
            if case .item(let i) = a.units[v], a.fusedBodies {
                let id = items[i].dotID
                switch items[i].op {
                case .fused(let p), .fusedReduce(_, _, _, let p):
                    let ts = p.steps.enumerated().compactMap { s -> String? in
                        if case .input(let j) = s.element, j == k { return id + "::r\(s.offset)" }
                        return nil
                    }
                    return ts.isEmpty ? [source(v)] : ts
                case .linear: return [id + (k < 2 ? "::mm" : "::bias")]
                default: break
                }
            }
            return [unitID(v)]
        }
        struct EdgeKey: Hashable { var from: String; var to: String; var control: Bool }
        var edgeOrder: [EdgeKey] = []
        var edgeCount: [EdgeKey: Int] = [:]
        var edgeRole: [EdgeKey: NodeRole] = [:]
        for (i, item) in items.enumerated() {
            let v = a.unitOf[i]
            for (k, j) in item.inputs.enumerated() where j >= 0 && j < items.count {
                let u = a.unitOf[j]
                if u == v { continue }
                for t in targets(v, operand: k) {
                    let key = EdgeKey(from: source(u), to: t, control: false)
                    if edgeCount[key] == nil { edgeOrder.append(key); edgeRole[key] = item.role }
                    edgeCount[key, default: 0] += 1
                }
            }
            for j in item.controlInputs where j >= 0 && j < items.count {
                let u = a.unitOf[j]
                if u == v { continue }
                let key = EdgeKey(from: source(u), to: unitID(v) == items[i].dotID ? targets(v, operand: 0)[0] : unitID(v), control: true)
                if edgeCount[key] == nil { edgeOrder.append(key); edgeRole[key] = item.role }
                edgeCount[key, default: 0] += 1
            }
        }
        for key in edgeOrder {
            var attrs: [String] = []
            if key.control { attrs += ["style=dashed", "arrowhead=odot", "color=\"#999999\""] }
            else if let r = edgeRole[key], r != .forward { attrs.append("color=\"\(roleColors(r).border)\"") }
            if let n = edgeCount[key], n > 1 { attrs.append("label=\"×\(n)\", fontsize=8") }
            out += "  " + quoted(key.from) + " -> " + quoted(key.to) + (attrs.isEmpty ? "" : " [" + attrs.joined(separator: ", ") + "]") + ";\n"
        }
        if options.showLegend { out += legend(a) }
        out += "}\n"
        return out
    }

    /// A row of sample boxes for the kinds of boxes the picture holds.
    private func legend(_ a: Assignment) -> String {
        var kinds: [(String, String)] = []
        func add(_ name: String, _ attrs: String) { if !kinds.contains(where: { $0.0 == name }) { kinds.append((name, attrs)) } }
        var present = Set<String>()
        for (u, unit) in a.units.enumerated() {
            switch unit {
            case .item(let i):
                let it = items[i]
                switch it.op {
                case .placeholder: present.insert("placeholder")
                case .variable: present.insert("variable")
                case .constant: present.insert("constant")
                case .fused, .linear, .fusedReduce: present.insert("fused kernel")
                default: present.insert(it.role == .forward ? "forward op" : it.role == .gradient ? "gradient op" : "update op")
                }
                if it.op.isSource && it.role != .forward { present.insert(it.role == .gradient ? "gradient op" : "update op") }
            case .scope: present.insert("collapsed scope")
            case .summary: _ = u; present.insert("summary")
            }
        }
        if present.count < 2 { return "" }
        let (gf, gb) = roleColors(.gradient), (uf, ub) = roleColors(.update)
        let all: [(String, String)] = [
            ("placeholder", "shape=invhouse, style=filled, fillcolor=\"#d6e9ff\", color=\"#1f5fa8\""),
            ("variable", "shape=cylinder, style=filled, fillcolor=\"#fff2b3\", color=\"#9a7d0a\""),
            ("constant", "shape=box, style=\"filled,rounded,dashed\", fillcolor=\"#f0f0f0\", color=\"#888888\""),
            ("forward op", "shape=box, style=\"filled,rounded\", fillcolor=\"#ffffff\", color=\"#444444\""),
            ("gradient op", "shape=box, style=\"filled,rounded,bold\", fillcolor=\"\(gf)\", color=\"\(gb)\""),
            ("update op", "shape=hexagon, style=filled, fillcolor=\"\(uf)\", color=\"\(ub)\""),
            ("fused kernel", "shape=box3d, style=filled, fillcolor=\"#fff4e5\", color=\"#e67e22\""),
            ("collapsed scope", "shape=box3d, style=filled, fillcolor=\"#ece6f7\", color=\"#5e3c99\""),
            ("summary", "shape=note, style=\"filled,dashed\", fillcolor=\"#eeeeee\", color=\"#777777\""),
        ]
        for (name, attrs) in all where present.contains(name) { add(name, attrs) }
        var out = "  subgraph \"cluster_legend\" {\n    label=\"legend\"; style=\"rounded\"; color=\"#cccccc\"; fontsize=9; fontcolor=\"#777777\";\n"
        for (name, attrs) in kinds {
            out += "    " + quoted("[legend] " + name) + " [label=\(label([name])), fontsize=8, height=0.2, \(attrs)];\n"
        }
        out += "    { rank=same; " + kinds.map { quoted("[legend] " + $0.0) }.joined(separator: "; ") + " }\n"
        for (x, y) in zip(kinds, kinds.dropFirst()) {
            out += "    " + quoted("[legend] " + x.0) + " -> " + quoted("[legend] " + y.0) + " [style=invis];\n"
        }
        out += "  }\n"
        return out
    }
}
