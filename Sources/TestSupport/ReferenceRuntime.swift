// Independent Float64 scalar references for the runtime's non-elementwise kernels.
// Plain loops over multi-indices: slow, obvious, and sharing no code with the kernels.

/// A dense Float64 array with a shape (row-major), for reference computations.
public struct RefArray: Sendable, Equatable {
    /// The elements, row-major.
    public var values: [Double]
    /// The dimensions.
    public var shape: [Int]
    /// Creates an array; `values.count` must equal the product of `shape`.
    public init(_ values: [Double], _ shape: [Int]) { self.values = values; self.shape = shape }
    /// A zero array.
    public init(zeros shape: [Int]) { self.init(Array(repeating: 0, count: shape.reduce(1, *)), shape) }
    /// Number of elements.
    public var count: Int { values.count }

    /// The flat index of a multi-index.
    public func flat(_ idx: [Int]) -> Int {
        var f = 0
        for (i, d) in shape.enumerated() { f = f * d + idx[i] }
        return f
    }
    /// The multi-index of a flat index.
    public func multi(_ f: Int) -> [Int] { RefArray.unravel(f, shape) }
    /// Element at a multi-index.
    public subscript(_ idx: [Int]) -> Double {
        get { values[flat(idx)] }
        set { values[flat(idx)] = newValue }
    }
    /// The multi-index of flat index `f` in `shape`.
    public static func unravel(_ f: Int, _ shape: [Int]) -> [Int] {
        var r = f
        var out = [Int](repeating: 0, count: shape.count)
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] > 0 {
            out[i] = r % shape[i]; r /= shape[i]
        }
        return out
    }
}

/// Float64 reference implementations of the runtime's ops.
public enum Reference {
    /// Deterministic test data in `[lo, hi)`, rounded to float32-representable values (exact in both float dtypes).
    public static func data(_ shape: [Int], seed: UInt64, lo: Double = -1, hi: Double = 1) -> RefArray {
        RefArray(DeterministicRandom.uniformDoubles(count: shape.reduce(1, *), seed: seed, low: lo, high: hi).map { Double(Float($0)) }, shape)
    }

    /// NumPy broadcast of two shapes (nil if they do not broadcast).
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = max(a.count, b.count)
        var out: [Int] = []
        for i in 0..<r {
            let x = i < r - a.count ? 1 : a[i - (r - a.count)]
            let y = i < r - b.count ? 1 : b[i - (r - b.count)]
            if x == y || y == 1 { out.append(x) } else if x == 1 { out.append(y) } else { return nil }
        }
        return out
    }

    /// Reads `x` at an output multi-index of a broadcast (right-aligned; size-1 axes repeat).
    public static func broadcastRead(_ x: RefArray, _ outIdx: [Int]) -> Double {
        let off = outIdx.count - x.shape.count
        let idx = x.shape.indices.map { x.shape[$0] == 1 ? 0 : outIdx[$0 + off] }
        return x[idx]
    }

    /// `x` broadcast to `shape`.
    public static func broadcast(_ x: RefArray, to shape: [Int]) -> RefArray {
        var out = RefArray(zeros: shape)
        for f in 0..<out.count { out.values[f] = broadcastRead(x, out.multi(f)) }
        return out
    }

    /// Batched matrix product with broadcast batch axes.
    public static func matmul(_ a: RefArray, _ b: RefArray, transposeA: Bool = false, transposeB: Bool = false) -> RefArray {
        let ra = a.shape.count, rb = b.shape.count
        let m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2]
        let k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1]
        let n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1]
        let batch = broadcastShape(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2))) ?? []
        var out = RefArray(zeros: batch + [m, n])
        for f in 0..<out.count {
            let idx = out.multi(f)
            let bi = Array(idx.dropLast(2)), i = idx[idx.count - 2], j = idx[idx.count - 1]
            var s = 0.0
            for p in 0..<k {
                let ai = transposeA ? [p, i] : [i, p]
                let bj = transposeB ? [j, p] : [p, j]
                s += broadcastRead(a, bi + ai) * broadcastRead(b, bi + bj)
            }
            out.values[f] = s
        }
        return out
    }

    /// A reduction over `axes` (keepDims shape kept as size-1 axes when `keepDims`).
    public static func reduce(_ f: ReduceFunction, _ x: RefArray, axes: [Int], keepDims: Bool = false) -> RefArray {
        let keptShape = x.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        var groups = [[Double]](repeating: [], count: keptShape.reduce(1, *))
        for i in 0..<x.count {
            var idx = x.multi(i)
            for a in axes { idx[a] = 0 }
            groups[RefArray(zeros: keptShape).flat(idx)].append(x.values[i])
        }
        let vals = groups.map { g -> Double in
            switch f {
            case .sum: return g.reduce(0, +)
            case .mean: return g.reduce(0, +) / Double(g.count)
            case .prod: return g.reduce(1, *)
            case .max: return g.contains { $0.isNaN } ? .nan : (g.max() ?? -.infinity)
            case .min: return g.contains { $0.isNaN } ? .nan : (g.min() ?? .infinity)
            case .logsumexp:
                guard let m = g.max(), m.isFinite else { return g.max() ?? -.infinity }
                return m + refLog(g.reduce(0) { $0 + refExp($1 - m) })
            }
        }
        let outShape = keepDims ? keptShape : x.shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        return RefArray(vals, outShape)
    }

    /// Index of the first max/min along `axis`.
    public static func argReduce(_ f: ArgReduceFunction, _ x: RefArray, axis: Int) -> RefArray {
        let outShape = x.shape.enumerated().filter { $0.offset != axis }.map(\.element)
        var out = RefArray(zeros: outShape)
        for o in 0..<out.count {
            var idx = RefArray.unravel(o, outShape)
            idx.insert(0, at: axis)
            var best = x[idx], bi = 0
            for r in 0..<x.shape[axis] {
                idx[axis] = r
                let v = x[idx]
                if f == .argmax ? v > best : v < best { best = v; bi = r }
            }
            out.values[o] = Double(bi)
        }
        return out
    }

    /// Softmax or log-softmax along `axis`, computed directly in Float64.
    public static func softmax(_ x: RefArray, axis: Int, log: Bool = false) -> RefArray {
        var out = x
        let lines = x.count / max(x.shape[axis], 1)
        let other = x.shape.enumerated().filter { $0.offset != axis }.map(\.element)
        for l in 0..<lines {
            var idx = RefArray.unravel(l, other)
            idx.insert(0, at: axis)
            var vals: [Double] = []
            for r in 0..<x.shape[axis] { idx[axis] = r; vals.append(x[idx]) }
            let m = vals.max() ?? 0
            let s = vals.reduce(0) { $0 + refExp($1 - m) }
            for r in 0..<x.shape[axis] {
                idx[axis] = r
                out[idx] = log ? vals[r] - m - refLog(s) : refExp(vals[r] - m) / s
            }
        }
        return out
    }

    /// Per-row `logsumexp(logits) - logits[label]`.
    public static func softmaxCrossEntropy(_ logits: RefArray, labels: [Int]) -> [Double] {
        let c = logits.shape.last ?? 0
        return labels.enumerated().map { r, y in
            let row = Array(logits.values[(r * c)..<((r + 1) * c)])
            let m = row.max() ?? 0
            return m + refLog(row.reduce(0) { $0 + refExp($1 - m) }) - row[y]
        }
    }

    /// Axis permutation.
    public static func transpose(_ x: RefArray, _ perm: [Int]) -> RefArray {
        var out = RefArray(zeros: perm.map { x.shape[$0] })
        for f in 0..<out.count {
            let o = out.multi(f)
            var src = [Int](repeating: 0, count: perm.count)
            for (i, p) in perm.enumerated() { src[p] = o[i] }
            out.values[f] = x[src]
        }
        return out
    }

    /// NumPy basic slicing with `SliceSpec` semantics.
    public static func slice(_ x: RefArray, _ spec: SliceSpec) -> RefArray {
        let res = x.shape.indices.map { spec.resolve(axis: $0, length: x.shape[$0]) }
        let steps = x.shape.indices.map { $0 < spec.stride.count ? spec.stride[$0] : 1 }
        var out = RefArray(zeros: res.map(\.count))
        for f in 0..<out.count {
            let o = out.multi(f)
            out.values[f] = x[o.indices.map { res[$0].start + o[$0] * steps[$0] }]
        }
        return out
    }

    /// The gradient of a slice: `g` scattered into zeros of `shape`.
    public static func sliceBackward(_ g: RefArray, _ spec: SliceSpec, shape: [Int]) -> RefArray {
        let res = shape.indices.map { spec.resolve(axis: $0, length: shape[$0]) }
        let steps = shape.indices.map { $0 < spec.stride.count ? spec.stride[$0] : 1 }
        var out = RefArray(zeros: shape)
        for f in 0..<g.count {
            let o = g.multi(f)
            out[o.indices.map { res[$0].start + o[$0] * steps[$0] }] += g.values[f]
        }
        return out
    }

    /// Concatenation along `axis`.
    public static func concat(_ xs: [RefArray], axis: Int) -> RefArray {
        var shape = xs[0].shape
        shape[axis] = xs.reduce(0) { $0 + $1.shape[axis] }
        var out = RefArray(zeros: shape)
        var at = 0
        for x in xs {
            for f in 0..<x.count {
                var idx = x.multi(f)
                idx[axis] += at
                out[idx] = x.values[f]
            }
            at += x.shape[axis]
        }
        return out
    }

    /// `params` indexed along `axis` by `indices` (shape `indexShape`).
    public static func gather(_ p: RefArray, indices: [Int], indexShape: [Int], axis: Int) -> RefArray {
        let shape = Array(p.shape[..<axis]) + indexShape + Array(p.shape[(axis + 1)...])
        var out = RefArray(zeros: shape)
        for f in 0..<out.count {
            let o = out.multi(f)
            let jIdx = Array(o[axis..<(axis + indexShape.count)])
            let j = RefArray(zeros: indexShape).flat(jIdx)
            let src = Array(o[..<axis]) + [indices[j]] + Array(o[(axis + indexShape.count)...])
            out.values[f] = p[src]
        }
        return out
    }

    /// The gradient of gather: `g` rows scatter-added into zeros of `shape`.
    public static func gatherBackward(_ g: RefArray, indices: [Int], indexShape: [Int], axis: Int, shape: [Int]) -> RefArray {
        var out = RefArray(zeros: shape)
        for f in 0..<g.count {
            let o = g.multi(f)
            let jIdx = Array(o[axis..<(axis + indexShape.count)])
            let j = RefArray(zeros: indexShape).flat(jIdx)
            out[Array(o[..<axis]) + [indices[j]] + Array(o[(axis + indexShape.count)...])] += g.values[f]
        }
        return out
    }

    /// Constant padding.
    public static func pad(_ x: RefArray, _ widths: [(Int, Int)], value: Double) -> RefArray {
        let shape = x.shape.indices.map { x.shape[$0] + widths[$0].0 + widths[$0].1 }
        var out = RefArray(Array(repeating: value, count: shape.reduce(1, *)), shape)
        for f in 0..<x.count {
            let i = x.multi(f)
            out[i.indices.map { i[$0] + widths[$0].0 }] = x.values[f]
        }
        return out
    }

    /// Tiling.
    public static func tile(_ x: RefArray, _ m: [Int]) -> RefArray {
        var out = RefArray(zeros: x.shape.indices.map { x.shape[$0] * m[$0] })
        for f in 0..<out.count {
            let o = out.multi(f)
            out.values[f] = x[o.indices.map { o[$0] % x.shape[$0] }]
        }
        return out
    }

    /// One-hot rows (out-of-range indices give zero rows).
    public static func oneHot(_ indices: [Int], shape: [Int], depth: Int) -> RefArray {
        var out = RefArray(zeros: shape + [depth])
        for (j, k) in indices.enumerated() where k >= 0 && k < depth { out.values[j * depth + k] = 1 }
        return out
    }

    /// Sums `x` down to `shape` (undoing a broadcast).
    public static func sumLike(_ x: RefArray, shape: [Int]) -> RefArray {
        var out = RefArray(zeros: shape)
        for f in 0..<x.count {
            let i = x.multi(f)
            let off = i.count - shape.count
            out[shape.indices.map { shape[$0] == 1 ? 0 : i[$0 + off] }] += x.values[f]
        }
        return out
    }

    /// (before, after) padding of one spatial axis, as the IR defines it.
    static func pads(_ p: Padding, n: Int, k: Int, s: Int, axis: Int) -> Int { p.resolve(inputLength: n, extent: k, stride: s, axis: axis).0 }

    /// Direct 2-D cross-correlation (NCHW × OIHW) with strides, padding and dilation.
    public static func conv2d(_ x: RefArray, _ w: RefArray, _ c: Conv2DConfig, outHW: (Int, Int)) -> RefArray {
        let (n, ch, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let pt = pads(c.padding, n: h, k: (kh - 1) * c.dilationH + 1, s: c.strideH, axis: 0)
        let pl = pads(c.padding, n: wd, k: (kw - 1) * c.dilationW + 1, s: c.strideW, axis: 1)
        var out = RefArray(zeros: [n, o, outHW.0, outHW.1])
        for b in 0..<n { for oc in 0..<o { for y in 0..<outHW.0 { for xx in 0..<outHW.1 {
            var s = 0.0
            for ic in 0..<ch { for i in 0..<kh { for j in 0..<kw {
                let ih = y * c.strideH - pt + i * c.dilationH, iw = xx * c.strideW - pl + j * c.dilationW
                if ih >= 0 && ih < h && iw >= 0 && iw < wd { s += x[[b, ic, ih, iw]] * w[[oc, ic, i, j]] }
            } } }
            out[[b, oc, y, xx]] = s
        } } } }
        return out
    }

    /// Gradients of conv2d with respect to its input and filter, from the definition.
    public static func conv2dBackward(_ x: RefArray, _ w: RefArray, _ dy: RefArray, _ c: Conv2DConfig) -> (dx: RefArray, dw: RefArray) {
        let (n, ch, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let pt = pads(c.padding, n: h, k: (kh - 1) * c.dilationH + 1, s: c.strideH, axis: 0)
        let pl = pads(c.padding, n: wd, k: (kw - 1) * c.dilationW + 1, s: c.strideW, axis: 1)
        var dx = RefArray(zeros: x.shape), dw = RefArray(zeros: w.shape)
        for b in 0..<n { for oc in 0..<o { for y in 0..<dy.shape[2] { for xx in 0..<dy.shape[3] {
            let g = dy[[b, oc, y, xx]]
            for ic in 0..<ch { for i in 0..<kh { for j in 0..<kw {
                let ih = y * c.strideH - pt + i * c.dilationH, iw = xx * c.strideW - pl + j * c.dilationW
                if ih >= 0 && ih < h && iw >= 0 && iw < wd {
                    dx[[b, ic, ih, iw]] += g * w[[oc, ic, i, j]]
                    dw[[oc, ic, i, j]] += g * x[[b, ic, ih, iw]]
                }
            } } }
        } } } }
        return (dx, dw)
    }

    /// Max or average pooling (average over valid positions only) and its gradient for `dy`.
    public static func pool(_ x: RefArray, _ c: Pool2DConfig, max isMax: Bool, outHW: (Int, Int), dy: RefArray? = nil)
        -> (y: RefArray, dx: RefArray)
    {
        let (n, ch, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let pt = pads(c.padding, n: h, k: c.kernelH, s: c.strideH, axis: 0)
        let pl = pads(c.padding, n: wd, k: c.kernelW, s: c.strideW, axis: 1)
        var y = RefArray(zeros: [n, ch, outHW.0, outHW.1]), dx = RefArray(zeros: x.shape)
        for b in 0..<n { for k in 0..<ch { for oy in 0..<outHW.0 { for ox in 0..<outHW.1 {
            var cells: [[Int]] = []
            for i in 0..<c.kernelH { for j in 0..<c.kernelW {
                let ih = oy * c.strideH - pt + i, iw = ox * c.strideW - pl + j
                if ih >= 0 && ih < h && iw >= 0 && iw < wd { cells.append([b, k, ih, iw]) }
            } }
            if cells.isEmpty { continue }
            let g = dy?[[b, k, oy, ox]] ?? 0
            if isMax {
                var best = cells[0]
                for cell in cells where x[cell] > x[best] { best = cell }
                y[[b, k, oy, ox]] = x[best]
                dx[best] += g
            } else {
                y[[b, k, oy, ox]] = cells.reduce(0) { $0 + x[$1] } / Double(cells.count)
                for cell in cells { dx[cell] += g / Double(cells.count) }
            }
        } } } }
        return (y, dx)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) fileprivate func refExp(_ x: Double) -> Double { Glibc.exp(x) }
@inline(__always) fileprivate func refLog(_ x: Double) -> Double { Glibc.log(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) fileprivate func refExp(_ x: Double) -> Double { Darwin.exp(x) }
@inline(__always) fileprivate func refLog(_ x: Double) -> Double { Darwin.log(x) }
#endif
