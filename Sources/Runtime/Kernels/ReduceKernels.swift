// Reductions over any axes, argmax/argmin, softmax, logSoftmax and softmax cross-entropy.

/// How a reduction walks its input: `O` outer rows × `R` reduced × `I` inner, after an
/// optional transpose (`perm`) that moves the reduced axes last.
struct ReduceLayout: Sendable {
    var outer: Int, reduced: Int, inner: Int
    /// Non-nil when the input must first be transposed into scratch with this permutation.
    var perm: [Int]?
    /// Set when the axes form reduced × kept × reduced groups `[a, b, c]` (a bias gradient over N, H, W of
    /// an NCHW tensor): sums and means then reduce in place, without the transpose.
    var sandwich: (a: Int, b: Int, c: Int)?

    /// Plans a reduction of `shape` over `axes` (non-negative, sorted, unique).
    init(shape: [Int], axes: [Int]) {
        // Merge neighbouring axes with the same kept/reduced role (unit axes do not matter).
        var groups: [(size: Int, reduced: Bool)] = []
        for (i, d) in shape.enumerated() where d != 1 {
            let red = axes.contains(i)
            if let last = groups.last, last.reduced == red { groups[groups.count - 1].size *= d } else { groups.append((d, red)) }
        }
        let redGroups = groups.filter { $0.reduced }.count
        let keptGroups = groups.count - redGroups
        if redGroups <= 1 && keptGroups <= 2 && !(keptGroups == 2 && redGroups == 0) {
            var o = 1, r = 1, i = 1
            var seenR = false
            for g in groups {
                if g.reduced { r = g.size; seenR = true } else if seenR || (redGroups == 0) { i *= g.size } else { o = g.size }
            }
            if redGroups == 0 { o = i; i = 1 }
            outer = o; reduced = r; inner = i; perm = nil
        } else {
            if groups.count == 3 && groups[0].reduced && !groups[1].reduced && groups[2].reduced {
                sandwich = (groups[0].size, groups[1].size, groups[2].size)
            }
            let kept = shape.indices.filter { !axes.contains($0) }
            perm = kept + axes
            outer = kept.reduce(1) { $0 * shape[$1] }
            reduced = axes.reduce(1) { $0 * shape[$1] }
            inner = 1
        }
    }
}

enum ReduceKernels {
    /// Splits work over `outer` rows, or over the inner axis when there are few rows.
    @inline(__always)
    static func parallel(outer: Int, inner: Int, work: Int, _ body: (Range<Int>, Range<Int>) -> Void) {
        if work < 1 << 15 || Parallelism.threads < 2 {
            body(0..<outer, 0..<inner)
        } else if outer >= Parallelism.threads {
            Parallelism.forEachChunk(outer, minChunk: 1) { body($0, 0..<inner) }
        } else if inner >= 64 {
            Parallelism.forEachChunk(inner, minChunk: 32) { body(0..<outer, $0) }
        } else {
            body(0..<outer, 0..<inner)
        }
    }

    // MARK: Float reductions

    /// Reduces `src` viewed as [O, R, I] over R into `dst` [O, I].
    static func reduceFloat<T: KernelFloat>(_ f: ReduceFunction, src: UnsafePointer<T>, outer O: Int, reduced R: Int,
                                            inner I: Int, dst: UnsafeMutablePointer<T>) {
        parallel(outer: O, inner: I, work: O * R * I) { oRange, iRange in
            for o in oRange {
                let s = src + o * R * I, d = dst + o * I
                if I == 1 {
                    d[0] = reduceRow(f, s, R)
                } else {
                    reduceColumns(f, s, R, I, iRange, d)
                }
            }
        }
    }

    /// Sum of a row: blocks of 256 summed with 8 independent accumulators (vectorizable), block sums in Double.
    @inline(__always)
    static func sumRow<T: KernelFloat>(_ s: UnsafePointer<T>, _ n: Int) -> T {
        var total = 0.0
        var start = 0
        while start < n {
            let end = Swift.min(start + 256, n)
            var a0: T = 0, a1: T = 0, a2: T = 0, a3: T = 0, a4: T = 0, a5: T = 0, a6: T = 0, a7: T = 0
            var j = start
            while j + 8 <= end {
                a0 += s[j]; a1 += s[j + 1]; a2 += s[j + 2]; a3 += s[j + 3]
                a4 += s[j + 4]; a5 += s[j + 5]; a6 += s[j + 6]; a7 += s[j + 7]
                j += 8
            }
            while j < end { a0 += s[j]; j += 1 }
            total += Double(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)))
            start = end
        }
        return T(total)
    }

    static func reduceRow<T: KernelFloat>(_ f: ReduceFunction, _ s: UnsafePointer<T>, _ n: Int) -> T {
        switch f {
        case .sum: return sumRow(s, n)
        case .mean: return sumRow(s, n) / T(n)
        case .max:
            var m = -T.infinity
            for j in 0..<n { let v = s[j]; if v > m || v != v { m = v; if v != v { break } } }
            return m
        case .min:
            var m = T.infinity
            for j in 0..<n { let v = s[j]; if v < m || v != v { m = v; if v != v { break } } }
            return m
        case .prod:
            var p: T = 1
            for j in 0..<n { p *= s[j] }
            return p
        case .logsumexp:
            var m = -T.infinity
            for j in 0..<n { let v = s[j]; if v > m || v != v { m = v; if v != v { break } } }
            if m.isNaN || m.isInfinite { return m }
            var acc: T = 0
            for j in 0..<n { acc += T.kExp(s[j] - m) }
            return m + T.kLog(acc)
        }
    }

    static func reduceColumns<T: KernelFloat>(_ f: ReduceFunction, _ s: UnsafePointer<T>, _ R: Int, _ I: Int,
                                              _ iRange: Range<Int>, _ d: UnsafeMutablePointer<T>) {
        let lo = iRange.lowerBound, hi = iRange.upperBound
        switch f {
        case .sum, .mean:
            for i in lo..<hi { d[i] = 0 }
            for r in 0..<R { let row = s + r * I; for i in lo..<hi { d[i] += row[i] } }
            if f == .mean { let c = T(R); for i in lo..<hi { d[i] /= c } }
        case .prod:
            for i in lo..<hi { d[i] = 1 }
            for r in 0..<R { let row = s + r * I; for i in lo..<hi { d[i] *= row[i] } }
        case .max, .min, .logsumexp:
            let isMin = f == .min
            for i in lo..<hi { d[i] = isMin ? T.infinity : -T.infinity }
            for r in 0..<R {
                let row = s + r * I
                if isMin {
                    for i in lo..<hi { let v = row[i]; if v < d[i] || v != v { d[i] = d[i] != d[i] ? d[i] : v } }
                } else {
                    for i in lo..<hi { let v = row[i]; if v > d[i] || v != v { d[i] = d[i] != d[i] ? d[i] : v } }
                }
            }
            if f == .logsumexp {
                for i in lo..<hi {
                    let m = d[i]
                    if m.isNaN || m.isInfinite { continue }
                    var acc: T = 0
                    for r in 0..<R { acc += T.kExp(s[r * I + i] - m) }
                    d[i] = m + T.kLog(acc)
                }
            }
        }
    }

    /// `out[j] = Σ_i Σ_k x[i, j, k]` over x viewed as [A, B, C] (divided by A·C for a mean): contiguous row sums,
    /// accumulated in Double, parallel over `j`.
    static func sandwichSum<T: KernelFloat>(_ x: UnsafePointer<T>, _ A: Int, _ B: Int, _ C: Int, mean: Bool,
                                            _ out: UnsafeMutablePointer<T>) {
        let body: (Range<Int>) -> Void = { js in
            for j in js {
                var acc = 0.0
                for i in 0..<A { acc += Double(sumRow(x + (i * B + j) * C, C)) }
                out[j] = T(mean ? acc / Double(A * C) : acc)
            }
        }
        if A * B * C >= 1 << 15 {
            Parallelism.forEachChunk(B, minChunk: 1, body)
        } else {
            body(0..<B)
        }
    }

    // MARK: Integer reductions

    /// Integer sum, prod (wrapping), max, min over R of [O, R, I].
    static func reduceInt<T: FixedWidthInteger & TensorScalar>(_ f: ReduceFunction, src: UnsafePointer<T>, outer O: Int,
                                                                 reduced R: Int, inner I: Int, dst: UnsafeMutablePointer<T>) {
        for o in 0..<O {
            let s = src + o * R * I, d = dst + o * I
            let initial: T
            switch f {
            case .prod: initial = 1
            case .max: initial = T.min
            case .min: initial = T.max
            default: initial = 0
            }
            for i in 0..<I { d[i] = initial }
            for r in 0..<R {
                let row = s + r * I
                switch f {
                case .prod: for i in 0..<I { d[i] = d[i] &* row[i] }
                case .max: for i in 0..<I { d[i] = Swift.max(d[i], row[i]) }
                case .min: for i in 0..<I { d[i] = Swift.min(d[i], row[i]) }
                default: for i in 0..<I { d[i] = d[i] &+ row[i] }
                }
            }
        }
    }

    /// Reduces `x` (any numeric dtype) over `axes` into `out`; `scratch` holds `x`'s bytes when the layout needs a transpose.
    static func reduce(_ f: ReduceFunction, dtype: DType, x: UnsafeRawPointer, shape: [Int], layout: ReduceLayout,
                       out: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer) {
        if let m = layout.sandwich, f == .sum || f == .mean {
            switch dtype {
            case .float32:
                sandwichSum(x.assumingMemoryBound(to: Float.self), m.a, m.b, m.c, mean: f == .mean, out.assumingMemoryBound(to: Float.self))
                return
            case .float64:
                sandwichSum(x.assumingMemoryBound(to: Double.self), m.a, m.b, m.c, mean: f == .mean, out.assumingMemoryBound(to: Double.self))
                return
            default: break
            }
        }
        var src = x
        if let perm = layout.perm {
            let st = Strides.contiguous(shape)
            let pShape = perm.map { shape[$0] }
            StridedCopy.copy(shape: pShape, src: x, srcStrides: perm.map { st[$0] }, dst: scratch,
                             dstStrides: Strides.contiguous(pShape), elementSize: dtype.byteSize)
            src = UnsafeRawPointer(scratch)
        }
        let O = layout.outer, R = layout.reduced, I = layout.inner
        switch dtype {
        case .float32: reduceFloat(f, src: src.assumingMemoryBound(to: Float.self), outer: O, reduced: R, inner: I, dst: out.assumingMemoryBound(to: Float.self))
        case .float64: reduceFloat(f, src: src.assumingMemoryBound(to: Double.self), outer: O, reduced: R, inner: I, dst: out.assumingMemoryBound(to: Double.self))
        case .int32: reduceInt(f, src: src.assumingMemoryBound(to: Int32.self), outer: O, reduced: R, inner: I, dst: out.assumingMemoryBound(to: Int32.self))
        case .int64: reduceInt(f, src: src.assumingMemoryBound(to: Int64.self), outer: O, reduced: R, inner: I, dst: out.assumingMemoryBound(to: Int64.self))
        case .bool: break  // rejected by inference
        }
    }

    // MARK: argmax / argmin

    /// Index of the first maximum (or minimum) along R of [O, R, I], as int64. NaN counts as the maximum and the minimum.
    static func argReduce<T: Comparable>(_ f: ArgReduceFunction, _: T.Type, src: UnsafeRawPointer, outer O: Int,
                                         reduced R: Int, inner I: Int, dst: UnsafeMutableRawPointer) {
        let s = src.assumingMemoryBound(to: T.self), d = dst.assumingMemoryBound(to: Int64.self)
        let isMax = f == .argmax
        for o in 0..<O {
            for i in 0..<I {
                let base = s + o * R * I + i
                var best = base[0], bi = 0
                if best == best {
                    for r in 1..<max(R, 1) {
                        let v = base[r * I]
                        if v != v { bi = r; break }
                        if isMax ? (v > best) : (v < best) { best = v; bi = r }
                    }
                }
                d[o * I + i] = Int64(bi)
            }
        }
    }

    static func argReduce(_ f: ArgReduceFunction, dtype: DType, x: UnsafeRawPointer, outer: Int, reduced: Int, inner: Int,
                          out: UnsafeMutableRawPointer) {
        switch dtype {
        case .float32: argReduce(f, Float.self, src: x, outer: outer, reduced: reduced, inner: inner, dst: out)
        case .float64: argReduce(f, Double.self, src: x, outer: outer, reduced: reduced, inner: inner, dst: out)
        case .int32: argReduce(f, Int32.self, src: x, outer: outer, reduced: reduced, inner: inner, dst: out)
        case .int64: argReduce(f, Int64.self, src: x, outer: outer, reduced: reduced, inner: inner, dst: out)
        case .bool: break
        }
    }

    // MARK: softmax

    /// Softmax (or log-softmax) along R of [O, R, I], stable (the maximum is subtracted first).
    static func softmax<T: KernelFloat>(_: T.Type, log: Bool, x: UnsafeRawPointer, outer O: Int, reduced R: Int, inner I: Int,
                                        out: UnsafeMutableRawPointer) {
        let xs = x.assumingMemoryBound(to: T.self), ys = out.assumingMemoryBound(to: T.self)
        guard R > 0 else { return }
        let lines = O * I
        let work: (Range<Int>) -> Void = { range in
            for line in range {
                let o = line / I, i = line % I
                let s = xs + o * R * I + i, d = ys + o * R * I + i
                var m = -T.infinity
                for r in 0..<R { let v = s[r * I]; if v > m || v != v { m = v } }
                if m.isInfinite { m = 0 }   // all -inf (or +inf present): no shift avoids inf - inf where possible
                var acc: T = 0
                if log {
                    for r in 0..<R { acc += T.kExp(s[r * I] - m) }
                    let l = m + T.kLog(acc)
                    for r in 0..<R { d[r * I] = s[r * I] - l }
                } else {
                    for r in 0..<R { let e = T.kExp(s[r * I] - m); d[r * I] = e; acc += e }
                    let inv = 1 / acc
                    for r in 0..<R { d[r * I] *= inv }
                }
            }
        }
        if lines * R >= 1 << 15 && lines >= 2 {
            Parallelism.forEachChunk(lines, minChunk: max(1, 4096 / R), work)
        } else {
            work(0..<lines)
        }
    }

    /// Per-row `logsumexp(logits) - logits[label]` of logits [rows, C] and integer labels [rows].
    static func softmaxCrossEntropy<T: KernelFloat, L: BinaryInteger>(_: T.Type, _: L.Type, logits: UnsafeRawPointer,
                                                                        labels: UnsafeRawPointer, rows: Int, classes C: Int,
                                                                        out: UnsafeMutableRawPointer) throws {
        let x = logits.assumingMemoryBound(to: T.self), y = labels.assumingMemoryBound(to: L.self)
        let d = out.assumingMemoryBound(to: T.self)
        for r in 0..<rows {
            let label = Int(truncatingIfNeeded: y[r])
            guard label >= 0 && label < C else {
                throw KernelFailure("label \(y[r]) at position \(r) is out of range for \(C) classes")
            }
            let row = x + r * C
            var m = -T.infinity
            for j in 0..<C { let v = row[j]; if v > m || v != v { m = v } }
            if m.isInfinite { m = 0 }
            var acc: T = 0
            for j in 0..<C { acc += T.kExp(row[j] - m) }
            d[r] = m + T.kLog(acc) - row[label]
        }
    }
}
