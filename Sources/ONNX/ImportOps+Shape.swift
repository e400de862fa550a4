import Graph

// Shape ops, constants made from shapes, and reductions.

extension NodeContext {
    func reshapeOp() throws -> Tensor {
        let x = try input(0)
        let shape = try opset >= 5 ? staticInts(1, "shape") : (ints("shape") ?? [])
        let allowZero = try int("allowzero", 0) != 0
        var target: [Int] = []
        var copiedUnknown: [Int] = []
        for (i, d) in shape.enumerated() {
            if d == 0 && !allowZero {
                guard i < x.rank else { throw fail("shape \(shape) copies dimension \(i) of a rank-\(x.rank) input") }
                if let k = x.shape.dims[i] { target.append(k) } else { target.append(-1); copiedUnknown.append(i) }
            } else {
                target.append(d)
            }
        }
        // `[0, -1]` on an input whose only unknown dimension is the copied one: the -1 is computable.
        if copiedUnknown.count == 1, target.filter({ $0 == -1 }).count == 2,
           x.shape.dims.enumerated().allSatisfy({ $0.element != nil || copiedUnknown.contains($0.offset) }) {
            let u = copiedUnknown[0]
            let knownIn = x.shape.dims.enumerated().filter { $0.offset != u }.reduce(1) { $0 * ($1.element ?? 1) }
            let knownOut = target.enumerated().filter { $0.offset != u && $0.element != -1 }.reduce(1) { $0 * $1.element }
            if knownOut > 0, knownIn % knownOut == 0, let j = target.indices.first(where: { $0 != u && target[$0] == -1 }) {
                target[j] = knownIn / knownOut
            }
        }
        guard target.filter({ $0 == -1 }).count <= 1 else {
            throw fail("shape \(shape) leaves more than one dimension to infer for input \(x.shape)")
        }
        try checkShape(target, allowInferred: true, "shape")
        return x.reshaped(target)
    }

    func flattenOp() throws -> Tensor {
        let x = try input(0)
        var a = try int("axis", 1)
        if a < 0 { a += x.rank }
        guard a >= 0, a <= x.rank else { throw fail("axis \(a) is out of range for rank \(x.rank)") }
        func product(_ ds: ArraySlice<Int?>) -> Int? { ds.reduce(Optional(1)) { acc, d in acc.flatMap { p in d.map { p * $0 } } } }
        let outer = product(x.shape.dims[..<a]), inner = product(x.shape.dims[a...])
        guard outer != nil || inner != nil else { throw fail("cannot flatten \(x.shape) at axis \(a): both parts have unknown sizes") }
        return x.reshaped([outer ?? -1, inner ?? -1])
    }

    func axesArgument(inputIndex: Int?, _ what: String = "axes") throws -> [Int]? {
        if let i = inputIndex { return try optStaticInts(i, what) }
        return try ints(what)
    }

    func squeezeOp() throws -> Tensor {
        let x = try input(0)
        guard let axes = try axesArgument(inputIndex: opset >= 13 ? 1 : nil) else { return x.squeezed() }
        let norm = try axes.map { try axis($0, rank: x.rank) }
        return x.squeezed(axes: norm)
    }

    func unsqueezeOp() throws -> Tensor {
        var x = try input(0)
        guard let axes = try axesArgument(inputIndex: opset >= 13 ? 1 : nil) else { throw fail("needs axes") }
        let outRank = x.rank + axes.count
        let norm = try axes.map { try axis($0, rank: outRank) }
        guard Set(norm).count == norm.count else { throw fail("axes \(axes) repeat an axis") }
        for a in norm.sorted() { x = x.expandingDims(axis: a) }
        return x
    }

    func splitOp() throws -> [Tensor?] {
        let x = try input(0)
        let a = try axis(try int("axis", 0), rank: x.rank)
        var sizes: [Int]
        if let s = try (opset >= 13 ? optStaticInts(1, "split") : ints("split")) {
            sizes = s
        } else {
            guard let n = x.shape.dims[a] else { throw fail("splitting an axis of unknown length needs explicit sizes") }
            if let k = try attr("num_outputs").map({ Int($0.i) }) {
                guard k > 0, k <= 1 << 16 else { throw fail("num_outputs \(k) out of range") }
                let chunk = (n + k - 1) / k
                sizes = (0..<k).map { i in Swift.max(Swift.min(chunk, n - i * chunk), 0) }
            } else {
                let k = node.output.count
                guard k > 0, n % k == 0 else { throw fail("cannot split length \(n) into \(k) equal parts") }
                sizes = Array(repeating: n / k, count: k)
            }
        }
        guard sizes.count == node.output.count else { throw fail("\(sizes.count) split sizes for \(node.output.count) outputs") }
        guard sizes.allSatisfy({ $0 >= 0 }) else { throw fail("split sizes \(sizes) must be ≥ 0") }
        return x.split(sizes: sizes, axis: a)
    }

    func sliceOp() throws -> Tensor {
        let x = try input(0)
        let starts: [Int], ends: [Int], axesIn: [Int]?, steps: [Int]?
        if opset >= 10 {
            starts = try staticInts(1, "starts")
            ends = try staticInts(2, "ends")
            axesIn = try optStaticInts(3, "axes")
            steps = try optStaticInts(4, "steps")
        } else {
            starts = try ints("starts") ?? []
            ends = try ints("ends") ?? []
            axesIn = try ints("axes")
            steps = nil
        }
        let axes = try (axesIn ?? Array(0..<starts.count)).map { try axis($0, rank: x.rank) }
        let st = steps ?? Array(repeating: 1, count: starts.count)
        guard ends.count == starts.count, axes.count == starts.count, st.count == starts.count else {
            throw fail("starts, ends, axes and steps have different lengths (\(starts.count), \(ends.count), \(axes.count), \(st.count))")
        }
        guard Set(axes).count == axes.count else { throw fail("axes \(axes) repeat an axis") }
        guard let top = axes.max() else { return x.identity() }
        var b = [Int?](repeating: nil, count: top + 1), e = b
        var s = [Int](repeating: 1, count: top + 1)
        let lim = 1 << 40
        for (j, a) in axes.enumerated() {
            guard st[j] != 0 else { throw fail("steps cannot be 0") }
            s[a] = Swift.min(Swift.max(st[j], -lim), lim)
            b[a] = Swift.min(Swift.max(starts[j], -lim), lim)
            e[a] = Swift.min(Swift.max(ends[j], -lim), lim)
        }
        return x.slice(begin: b, end: e, strides: s)
    }

    func gatherOp() throws -> Tensor {
        let data = try input(0)
        var idx = try input(1)
        let a = try axis(try int("axis", 0), rank: data.rank)
        let n = data.shape.dims[a]
        if let v = staticIfKnown(1), v.dtype.isInteger, let n {
            let ints = intValues(v)
            if let bad = ints.first(where: { $0 < -n || $0 >= n }) { throw fail("index \(bad) is out of range for axis \(a) of length \(n)") }
            if ints.contains(where: { $0 < 0 }) {
                let fixed = ints.map { Int64($0 < 0 ? $0 + n : $0) }
                idx = g.constant(try HostTensor(fixed, shape: v.shape))
            }
        } else if let n {
            idx = `where`(idx .< scalar(0, idx.dtype), idx + scalar(Double(n), idx.dtype), idx)
        }
        return try checkResult(data.gather(idx, axis: a))
    }

    func expandOp() throws -> Tensor {
        let x = try input(0)
        let shape = try staticInts(1, "shape")
        try checkShape(shape, "shape")
        guard let b = Shape.broadcast(x.shape, Shape(known: shape)), let k = b.known else {
            throw fail("cannot expand \(x.shape) to \(shape) (unknown dimensions must be given explicitly)")
        }
        try checkShape(k, "result")
        return x.broadcast(to: k)
    }

    func padOp() throws -> Tensor {
        var x = try input(0)
        let mode = try string("mode", "constant")
        let pads: [Int]
        var value = 0.0
        var axes = Array(0..<x.rank)
        if opset >= 11 {
            pads = try staticInts(1, "pads")
            if has(2) { value = (try staticValue(2, "constant_value")).scalarValue ?? 0 }
            if let ax = try optStaticInts(3, "axes") { axes = try ax.map { try axis($0, rank: x.rank) } }
        } else {
            pads = try ints("pads") ?? []
            value = try float("value", 0)
        }
        guard pads.count == 2 * axes.count else { throw fail("pads \(pads) needs \(2 * axes.count) values") }
        var before = [Int](repeating: 0, count: x.rank), after = before
        for (j, a) in axes.enumerated() {
            before[a] = pads[j]
            after[a] = pads[j + axes.count]
        }
        try checkShape(before.map { Swift.max($0, 0) } + after.map { Swift.max($0, 0) }, "pads")
        // Negative pads crop.
        if before.contains(where: { $0 < 0 }) || after.contains(where: { $0 < 0 }) {
            x = x.slice(begin: before.map { $0 < 0 ? -$0 : nil }, end: after.map { $0 < 0 ? $0 : nil })
        }
        before = before.map { Swift.max($0, 0) }
        after = after.map { Swift.max($0, 0) }
        switch mode {
        case "constant":
            return try checkResult(x.padded(zip(before, after).map { ($0, $1) }, value: value))
        case "edge", "reflect", "wrap":
            for a in 0..<x.rank where before[a] > 0 || after[a] > 0 {
                guard let n = x.shape.dims[a], n > 0 else { throw fail("\(mode) padding needs a known, non-empty axis \(a)") }
                var parts: [Tensor] = []
                let pb = before[a], pe = after[a]
                switch mode {
                case "edge":
                    var m = [Int](repeating: 1, count: x.rank)
                    if pb > 0 { m[a] = pb; parts.append(sliceAxis(x, axis: a, begin: 0, end: 1).tiled(m)) }
                    parts.append(x)
                    if pe > 0 { m[a] = pe; parts.append(sliceAxis(x, axis: a, begin: n - 1, end: n).tiled(m)) }
                case "reflect":
                    guard pb < n, pe < n else { throw fail("reflect padding of \(pb), \(pe) needs an axis longer than that, got \(n)") }
                    if pb > 0 { parts.append(sliceAxis(x, axis: a, begin: pb, end: 0, stride: -1)) }
                    parts.append(x)
                    if pe > 0 { parts.append(sliceAxis(x, axis: a, begin: n - 2, end: n - 2 - pe >= 0 ? n - 2 - pe : nil, stride: -1)) }
                default:
                    guard pb <= n, pe <= n else { throw fail("wrap padding of \(pb), \(pe) exceeds the axis length \(n)") }
                    if pb > 0 { parts.append(sliceAxis(x, axis: a, begin: n - pb, end: n)) }
                    parts.append(x)
                    if pe > 0 { parts.append(sliceAxis(x, axis: a, begin: 0, end: pe)) }
                }
                x = concat(parts, axis: a)
            }
            return try checkResult(x.identity())
        default:
            throw fail("pad mode '\(mode)' is not supported")
        }
    }

    func shapeOp() throws -> Tensor {
        let x = try input(0)
        let r = x.rank
        var start = try int("start", 0), end = try int("end", r)
        if start < 0 { start += r }
        if end < 0 { end += r }
        start = Swift.min(Swift.max(start, 0), r)
        end = Swift.min(Swift.max(end, start), r)
        let dims = x.shape.dims[start..<end]
        guard dims.allSatisfy({ $0 != nil }) else {
            throw fail("Shape of a tensor with unknown dimensions \(x.shape) is not supported (SymGraph graphs are static)")
        }
        return constantOutput(HostTensor(dims.map { Int64($0 ?? 0) }))
    }

    func constantOfShapeOp() throws -> Tensor {
        let shape = try staticInts(0, "shape")
        try checkShape(shape, "shape")
        let v = try tensorAttr("value") ?? HostTensor(scalar: Float(0))
        guard v.count == 1 else { throw fail("value must have one element, got \(v.shape)") }
        let fill = v.converted(to: v.dtype)
        let n = shape.reduce(1, *)
        if n <= 1 << 16 {
            let out = HostTensor(filled: fill.doubles[0], dtype: v.dtype, shape: shape)
            return constantOutput(out)
        }
        return g.constant(try fill.reshaped([])).broadcast(to: shape)
    }

    func rangeOp() throws -> Tensor {
        let s = try staticValue(0, "start"), l = try staticValue(1, "limit"), d = try staticValue(2, "delta")
        guard s.count == 1, l.count == 1, d.count == 1 else { throw fail("start, limit and delta must be scalars") }
        let dtype = s.dtype
        if dtype.isInteger {
            let a = intValues(s)[0], b = intValues(l)[0], st = intValues(d)[0]
            guard st != 0 else { throw fail("delta cannot be 0") }
            let n = Swift.max((b - a + st + (st > 0 ? -1 : 1)) / st, 0)
            guard n <= Swift.min(limits.maxElements, 1 << 24) else { throw fail("Range of \(n) elements exceeds the limit of \(Swift.min(limits.maxElements, 1 << 24)) for folding") }
            let vals = (0..<n).map { Int64(a + $0 * st) }
            let t = try HostTensor(vals, shape: [n])
            return constantOutput(t.converted(to: dtype))
        }
        let a = s.doubles[0], b = l.doubles[0], st = d.doubles[0]
        guard st != 0, a.isFinite, b.isFinite, st.isFinite else { throw fail("Range needs finite start, limit and a non-zero delta") }
        let nd = Swift.max(((b - a) / st).rounded(.up), 0)
        guard nd <= Double(Swift.min(limits.maxElements, 1 << 24)) else { throw fail("Range of \(nd) elements exceeds the limit of \(Swift.min(limits.maxElements, 1 << 24)) for folding") }
        let n = Int(nd)
        var t = HostTensor(zeros: dtype, shape: [n])
        if dtype == .float32 {
            t.withUnsafeMutableBufferPointer(as: Float.self) { p in for i in 0..<n { p[i] = Float(a) + Float(i) * Float(st) } }
        } else {
            t.withUnsafeMutableBufferPointer(as: Double.self) { p in for i in 0..<n { p[i] = a + Double(i) * st } }
        }
        try ctx.account(t, what: "Range")
        return g.constant(t)
    }

    func reduceOp(_ op: String) throws -> Tensor {
        var x = try input(0)
        let keep = try int("keepdims", 1) != 0
        let axesAsInput = opset >= 18 || (op == "ReduceSum" && opset >= 13)
        let axesIn = try axesArgument(inputIndex: axesAsInput ? 1 : nil)
        var axes: [Int]
        if let a = axesIn, !a.isEmpty {
            axes = try a.map { try axis($0, rank: x.rank) }
        } else {
            if try int("noop_with_empty_axes", 0) != 0 { return x.identity() }
            axes = Array(0..<x.rank)
        }
        axes = Array(Set(axes)).sorted()
        let dtype = x.dtype
        let needsFloat = ["ReduceMean", "ReduceLogSumExp", "ReduceL2", "ReduceLogSum"].contains(op)
        if needsFloat && !dtype.isFloatingPoint { x = x.cast(to: .float64) }
        if dtype == .bool {
            guard op == "ReduceMax" || op == "ReduceMin" else { throw fail("\(op) of bool values is not supported") }
            x = x.cast(to: .int32)
        }
        var y: Tensor
        switch op {
        case "ReduceSum": y = x.sum(axes: axes, keepDims: keep)
        case "ReduceMean": y = x.mean(axes: axes, keepDims: keep)
        case "ReduceMax": y = x.max(axes: axes, keepDims: keep)
        case "ReduceMin": y = x.min(axes: axes, keepDims: keep)
        case "ReduceProd": y = x.prod(axes: axes, keepDims: keep)
        case "ReduceLogSumExp": y = x.logsumexp(axes: axes, keepDims: keep)
        case "ReduceSumSquare": y = (x * x).sum(axes: axes, keepDims: keep)
        case "ReduceL1": y = abs(x).sum(axes: axes, keepDims: keep)
        case "ReduceL2": y = sqrt((x * x).sum(axes: axes, keepDims: keep))
        default: y = log(x.sum(axes: axes, keepDims: keep))
        }
        // Bools reduce as 0/1 integers; `> 0` maps an empty max (the int minimum) to false and
        // an empty min (the int maximum) to true, the identities ONNX expects.
        if dtype == .bool { return y .> scalar(0, .int32) }
        if y.dtype != dtype { y = (y.dtype.isFloatingPoint ? y.map(.round) : y).cast(to: dtype) }
        return y
    }

    func argOp(max isMax: Bool) throws -> Tensor {
        let x = try input(0)
        let a = try axis(try int("axis", 0), rank: x.rank)
        let keep = try int("keepdims", 1) != 0
        if try int("select_last_index", 0) != 0 {
            guard let n = x.shape.dims[a] else { throw fail("select_last_index needs a known length on axis \(a)") }
            let rev = sliceAxis(x, axis: a, begin: nil, end: nil, stride: -1)
            let i = isMax ? rev.argmax(axis: a, keepDims: keep) : rev.argmin(axis: a, keepDims: keep)
            return g.constant(HostTensor(scalar: Int64(n - 1))) - i
        }
        return isMax ? x.argmax(axis: a, keepDims: keep) : x.argmin(axis: a, keepDims: keep)
    }

    /// CenterCropPad: each listed axis cropped or zero-padded to its target length, centred
    /// (an odd difference puts the extra element at the end).
    func centerCropPadOp() throws -> Tensor {
        var x = try input(0)
        let target = try staticInts(1, "shape")
        let axes = try (ints("axes") ?? Array(0..<x.rank)).map { try axis($0, rank: x.rank) }
        guard target.count == axes.count, target.allSatisfy({ $0 >= 0 }) else { throw fail("shape \(target) must give one size per axis \(axes)") }
        try checkShape(target, "shape")
        var pads = [(Int, Int)](repeating: (0, 0), count: x.rank)
        for (a, want) in zip(axes, target) {
            guard let have = x.shape.dims[a] else { throw fail("axis \(a) needs a known length, got \(x.shape)") }
            if want < have {
                let start = (have - want) / 2
                x = sliceAxis(x, axis: a, begin: start, end: start + want)
            } else if want > have {
                let before = (want - have) / 2
                pads[a] = (before, want - have - before)
            }
        }
        if pads.contains(where: { $0.0 > 0 || $0.1 > 0 }) { x = x.padded(pads, value: 0) }
        return try checkResult(x)
    }
}

extension NodeContext {
    /// TopK with k known at import time, as k rounds of "take the extreme among the positions
    /// not yet taken" (ties go to the lower index, as ONNX requires). Values come out sorted.
    func topKOp() throws -> [Tensor?] {
        let x = try input(0)
        let a = try axis(try int("axis", -1), rank: x.rank)
        guard let n = x.shape.dims[a] else { throw fail("TopK needs a known length along axis \(a), got \(x.shape)") }
        let ks = try staticInts(1, "k")
        guard ks.count == 1, let k = ks.first, k >= 0, k <= n else { throw fail("k \(ks) must be one value in 0...\(n)") }
        guard k * 10 <= limits.maxNodes, k <= NodeContext.maxUnrolledIterations else { throw fail("k = \(k) is too large") }
        let largest = try int("largest", 1) != 0
        // The value a taken position is replaced by: the far end of the order.
        let fillValue: Double
        switch x.dtype {
        case .int32: fillValue = largest ? Double(Int32.min) : Double(Int32.max)
        case .int64: fillValue = largest ? -9.223372036854775808e18 : 9.223372036854775807e18
        case .bool: throw fail("TopK of bools is not supported")
        default: fillValue = largest ? -.infinity : .infinity
        }
        let fill = g.constant(HostTensor(filled: fillValue, dtype: x.dtype, shape: []))
        var positionShape = [Int](repeating: 1, count: x.rank)
        positionShape[a] = n
        let positions = g.constant(try HostTensor((0..<n).map { Int64($0) }, shape: positionShape))
        var taken: Tensor = positions .< g.constant(HostTensor(scalar: Int64(0)))   // all false, broadcast below
        var values: [Tensor] = [], indices: [Tensor] = []
        for _ in 0..<k {
            let masked = `where`(taken, fill, x)
            let m = largest ? masked.max(axes: [a], keepDims: true) : masked.min(axes: [a], keepDims: true)
            let best = (largest ? masked.argmax(axis: a, keepDims: true) : masked.argmin(axis: a, keepDims: true)).cast(to: .int64)
            // When every remaining value sits at the fill level, the first position not taken.
            let firstFree = logicalNot(taken).cast(to: .int32).argmax(axis: a, keepDims: true).cast(to: .int64)
            let idx = `where`(m .== fill, firstFree, best)
            values.append(m)
            indices.append(idx)
            taken = taken .| (positions .== idx)
        }
        if k == 0 {
            let empty = sliceAxis(x, axis: a, begin: 0, end: 0)
            return [empty, empty.cast(to: .int64)]
        }
        return [concat(values, axis: a), concat(indices, axis: a)]
    }
}
