import Graph

// Einsum, by contracting operands pairwise with batched matmuls: labels shared by both operands
// and still needed become batch axes, shared labels no longer needed are contracted, the rest
// stay free. Repeated labels in one operand take the diagonal; labels needed nowhere else are
// summed first. Ellipses stand for the same leading axes in every operand (equal sizes).

extension NodeContext {
    func einsumOp() throws -> Tensor {
        let raw = try string("equation", "").filter { !$0.isWhitespace }
        let parts = raw.components(separatedBy: "->")
        guard parts.count <= 2 else { throw fail("equation '\(raw)' has more than one '->'") }
        let inputsText = parts[0].components(separatedBy: ",")
        var operands = try allInputs()
        guard inputsText.count == operands.count else { throw fail("equation '\(raw)' names \(inputsText.count) operands, the node has \(operands.count)") }
        let dtype = operands[0].dtype
        guard operands.allSatisfy({ $0.dtype == dtype }) else { throw fail("operands must share one dtype") }
        let work: DType = dtype.isFloatingPoint ? dtype : .float64
        operands = operands.map { $0.dtype == work ? $0 : $0.cast(to: work) }
        // Labels per operand, the ellipsis expanded to digits (aligned from the right).
        let ellipsisLabels = Array("0123456789")
        var ellipsisRank = 0
        var labels: [[Character]] = []
        for (t, text) in zip(operands, inputsText) {
            let pieces = text.components(separatedBy: "...")
            guard pieces.count <= 2, (pieces.joined()).allSatisfy({ $0.isLetter }) else { throw fail("operand term '\(text)' is not letters with at most one '...'") }
            if pieces.count == 2 {
                let e = t.rank - pieces[0].count - pieces[1].count
                guard e >= 0, e <= ellipsisLabels.count else { throw fail("operand '\(text)' does not match rank \(t.rank)") }
                ellipsisRank = Swift.max(ellipsisRank, e)
                labels.append(Array(pieces[0]) + Array(ellipsisLabels[(ellipsisLabels.count - e)...]) + Array(pieces[1]))
            } else {
                guard text.count == t.rank else { throw fail("operand '\(text)' does not match rank \(t.rank)") }
                labels.append(Array(text))
            }
        }
        let ellipsis = Array(ellipsisLabels[(ellipsisLabels.count - ellipsisRank)...])
        var output: [Character]
        if parts.count == 2 {
            let pieces = parts[1].components(separatedBy: "...")
            output = pieces.count == 2 ? Array(pieces[0]) + ellipsis + Array(pieces[1]) : Array(parts[1])
        } else {
            let all = labels.flatMap { $0 }.filter { $0.isLetter }
            output = ellipsis + all.filter { l in all.filter { $0 == l }.count == 1 }.sorted()
        }
        // Sizes.
        var size: [Character: Int] = [:]
        for (t, ls) in zip(operands, labels) {
            for (axisIndex, l) in ls.enumerated() {
                guard let d = t.shape.dims[axisIndex] else { throw fail("einsum needs known dimensions, got \(t.shape)") }
                if let s = size[l], s != d { throw fail("label '\(l)' has sizes \(s) and \(d)") }
                size[l] = d
            }
        }
        guard output.allSatisfy({ size[$0] != nil }), Set(output).count == output.count else { throw fail("output '\(String(output))' has unknown or repeated labels") }
        // Diagonals and labels used by no one else.
        for k in operands.indices {
            (operands[k], labels[k]) = try diagonals(operands[k], labels[k], size)
            let elsewhere = Set(output + labels.enumerated().filter { $0.offset != k }.flatMap(\.element))
            let lonely = labels[k].indices.filter { !elsewhere.contains(labels[k][$0]) }
            if !lonely.isEmpty {
                operands[k] = operands[k].sum(axes: lonely)
                labels[k] = labels[k].enumerated().filter { !lonely.contains($0.offset) }.map(\.element)
            }
        }
        var acc = operands[0], accLabels = labels[0]
        for k in operands.indices.dropFirst() {
            let later = Set(output + labels[(k + 1)...].flatMap { $0 })
            (acc, accLabels) = try contract(acc, accLabels, operands[k], labels[k], keep: later, size)
        }
        let extra = accLabels.indices.filter { !output.contains(accLabels[$0]) }
        if !extra.isEmpty {
            acc = acc.sum(axes: extra)
            accLabels = accLabels.enumerated().filter { !extra.contains($0.offset) }.map(\.element)
        }
        let perm = output.compactMap { l in accLabels.firstIndex(of: l) }
        if perm != Array(0..<perm.count) { acc = acc.transposed(perm) }
        return acc.dtype == dtype ? acc : acc.map(.round).cast(to: dtype)
    }

    /// Takes the diagonal over repeated labels of one operand (keeping the first occurrence).
    func diagonals(_ t0: Tensor, _ ls0: [Character], _ size: [Character: Int]) throws -> (Tensor, [Character]) {
        var t = t0, ls = ls0
        while let q = ls.indices.first(where: { i in ls[..<i].contains(ls[i]) }), let p = ls.firstIndex(of: ls[q]), let n = size[ls[q]] {
            var eye = [Bool](repeating: false, count: n * n)
            for i in 0..<n { eye[i * n + i] = true }
            var shape = [Int](repeating: 1, count: t.rank)
            shape[p] = n; shape[q] = n
            let mask = g.constant(try HostTensor(eye, shape: shape))
            t = `where`(mask, t, scalar(0, t.dtype)).sum(axes: [q])
            ls.remove(at: q)
        }
        return (t, ls)
    }

    /// Contracts two operands: shared labels still needed are batch axes, other shared labels are summed.
    func contract(_ a: Tensor, _ la: [Character], _ b: Tensor, _ lb: [Character], keep: Set<Character>,
                  _ size: [Character: Int]) throws -> (Tensor, [Character]) {
        let shared = la.filter { lb.contains($0) }
        let batch = shared.filter { keep.contains($0) }, summed = shared.filter { !keep.contains($0) }
        let aFree = la.filter { !lb.contains($0) }, bFree = lb.filter { !la.contains($0) }
        func prod(_ ls: [Character]) -> Int { ls.reduce(1) { $0 * (size[$1] ?? 1) } }
        let at = a.transposed((batch + aFree + summed).compactMap { la.firstIndex(of: $0) })
            .reshaped([prod(batch), prod(aFree), prod(summed)])
        let bt = b.transposed((batch + summed + bFree).compactMap { lb.firstIndex(of: $0) })
            .reshaped([prod(batch), prod(summed), prod(bFree)])
        let labels = batch + aFree + bFree
        let y = at.matmul(bt).reshaped(labels.map { size[$0] ?? 1 })
        return (y, labels)
    }
}
