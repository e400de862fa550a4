import Graph

// Convolution, pooling, normalization and softmax.

extension NodeContext {
    /// Checks a window parameter (kernel, stride, dilation, pad) is in a sane range.
    func windowParams(_ v: [Int], _ what: String, min lo: Int) throws -> [Int] {
        guard v.allSatisfy({ $0 >= lo && $0 <= 1 << 20 }) else { throw fail("\(what) \(v) out of range") }
        return v
    }

    /// The 2-D padding of a window op over spatial lengths `n` (1 or 2 axes).
    func windowPadding(spatial n: [Int?], kernel k: [Int], strides s: [Int], dilations d: [Int]) throws -> (Padding, [Int]?) {
        let r = n.count
        let ext = (0..<r).map { (k[$0] - 1) * d[$0] + 1 }
        var pads: [Int]
        switch try string("auto_pad", "NOTSET") {
        case "VALID": pads = Array(repeating: 0, count: 2 * r)
        case "SAME_UPPER", "SAME_LOWER":
            let lower = try string("auto_pad", "") == "SAME_LOWER"
            pads = Array(repeating: 0, count: 2 * r)
            for i in 0..<r {
                guard let len = n[i] else {
                    if !lower { return (.same, nil) }
                    throw fail("SAME_LOWER padding needs known spatial dimensions")
                }
                let out = (len + s[i] - 1) / s[i]
                let total = Swift.max((out - 1) * s[i] + ext[i] - len, 0)
                pads[i] = lower ? total - total / 2 : total / 2
                pads[i + r] = total - pads[i]
            }
        case "NOTSET":
            pads = try ints("pads") ?? Array(repeating: 0, count: 2 * r)
            guard pads.count == 2 * r else { throw fail("pads \(pads) needs \(2 * r) values") }
            pads = try windowParams(pads, "pads", min: 0)
        case let other: throw fail("auto_pad '\(other)' is not supported")
        }
        return (r == 1 ? .explicit(top: 0, bottom: 0, left: pads[0], right: pads[1])
                       : .explicit(top: pads[0], bottom: pads[2], left: pads[1], right: pads[3]), pads)
    }

    /// Brings a 1-D (N, C, L) window input to 2-D (N, C, 1, L); checks the rank.
    func to2D(_ x: Tensor) throws -> Tensor {
        switch x.rank {
        case 4: return x
        case 3: return x.expandingDims(axis: 2)
        default: throw fail("only 1-D and 2-D windows (inputs of rank 3 or 4) are supported, got \(x.shape)")
        }
    }

    func convOp() throws -> Tensor {
        let x0 = try input(0), w0 = try input(1)
        let r = x0.rank - 2
        guard r == 1 || r == 2, w0.rank == x0.rank else { throw fail("only 1-D and 2-D convolutions are supported, got \(x0.shape) and \(w0.shape)") }
        let kernel = try ints("kernel_shape") ?? w0.shape.dims.dropFirst(2).map { $0 ?? -1 }
        guard kernel.count == r else { throw fail("kernel_shape \(kernel) does not match \(r) spatial axes") }
        let k = try windowParams(kernel, "kernel_shape", min: 1)
        let s = try windowParams(try ints("strides") ?? Array(repeating: 1, count: r), "strides", min: 1)
        let d = try windowParams(try ints("dilations") ?? Array(repeating: 1, count: r), "dilations", min: 1)
        guard s.count == r, d.count == r else { throw fail("strides/dilations need \(r) values") }
        let (padding, _) = try windowPadding(spatial: Array(x0.shape.dims.dropFirst(2)), kernel: k, strides: s, dilations: d)
        let x = try to2D(x0), w = try to2D(w0)
        let st = r == 1 ? (1, s[0]) : (s[0], s[1]), dl = r == 1 ? (1, d[0]) : (d[0], d[1])
        let group = try int("group", 1)
        var y: Tensor
        if group == 1 {
            y = conv2d(x, filter: w, strides: st, padding: padding, dilation: dl)
        } else {
            guard group > 1, let c = x.shape.dims[1], let o = w.shape.dims[0], c % group == 0, o % group == 0 else {
                throw fail("group \(group) needs known channel counts divisible by it (input \(x.shape), filter \(w.shape))")
            }
            let xs = x.split(count: group, axis: 1), ws = w.split(count: group, axis: 0)
            y = concat(zip(xs, ws).map { conv2d($0, filter: $1, strides: st, padding: padding, dilation: dl) }, axis: 1)
        }
        if let b = try optInput(2) { y = y + b.reshaped([1, -1, 1, 1]) }
        if r == 1 { y = y.squeezed(axes: [2]) }
        return try checkResult(y)
    }

    func poolOp(max isMax: Bool) throws -> [Tensor?] {
        let raw = try input(0)
        // Integer pooling (MaxPool over uint8, …) runs in float64 and converts back.
        if !raw.dtype.isFloatingPoint {
            guard raw.dtype.isInteger else { throw fail("pooling needs numbers, got \(raw.dtype)") }
            return try poolOp(max: isMax, input: raw.cast(to: .float64)).map { $0?.cast(to: raw.dtype) }
        }
        return try poolOp(max: isMax, input: raw)
    }

    func poolOp(max isMax: Bool, input x0: Tensor, includePad: Bool? = nil) throws -> [Tensor?] {
        let r = x0.rank - 2
        guard r >= 1 else { throw fail("pooling needs an input of rank ≥ 3, got \(x0.shape)") }
        guard let kernel = try ints("kernel_shape"), kernel.count == r else { throw fail("kernel_shape must give \(r) sizes") }
        let k = try windowParams(kernel, "kernel_shape", min: 1)
        let s = try windowParams(try ints("strides") ?? Array(repeating: 1, count: r), "strides", min: 1)
        let d = try windowParams(try ints("dilations") ?? Array(repeating: 1, count: r), "dilations", min: 1)
        guard s.count == r, d.count == r else { throw fail("strides/dilations need \(r) values") }
        let spatial = Array(x0.shape.dims.dropFirst(2))
        if isMax, node.output.count > 1, !node.output[1].isEmpty {
            // The Indices output: the sliced formulation also tracks where each maximum came from.
            let (y, idx) = try slicedPoolWithIndices(x0, kernel: k, strides: s, dilations: d)
            return [y, idx]
        }
        if r > 2 || d.contains(where: { $0 != 1 }) {
            return [try slicedPool(x0, kernel: k, strides: s, dilations: d, max: isMax, includePad: includePad)]
        }
        var (padding, padsOpt) = try windowPadding(spatial: spatial, kernel: k, strides: s, dilations: d)
        let countIncludePad = try !isMax && (includePad ?? (int("count_include_pad", 0) != 0))
        var x = x0
        if try int("ceil_mode", 0) != 0, var pads = padsOpt {
            for i in 0..<r {
                guard let n = spatial[i] else { throw fail("ceil_mode needs known spatial dimensions") }
                let span = n + pads[i] + pads[i + r] - k[i]
                guard span >= 0 else { break }
                var out = (span + s[i] - 1) / s[i] + 1
                if (out - 1) * s[i] >= n + pads[i] { out -= 1 }
                let extra = Swift.max((out - 1) * s[i] + k[i] - (n + pads[i] + pads[i + r]), 0)
                pads[i + r] += extra
            }
            padsOpt = pads
            padding = r == 1 ? .explicit(top: 0, bottom: 0, left: pads[0], right: pads[1])
                             : .explicit(top: pads[0], bottom: pads[2], left: pads[1], right: pads[3])
        }
        if countIncludePad {
            // Zero padding counted in the average: pad explicitly, then pool without padding.
            guard let pads = padsOpt else { throw fail("count_include_pad with SAME padding needs known spatial dimensions") }
            var widths = [(0, 0), (0, 0)]
            for i in 0..<r { widths.append((pads[i], pads[i + r])) }
            x = x.padded(widths)
            padding = .valid
        }
        let x2 = try to2D(x)
        let kk = r == 1 ? (1, k[0]) : (k[0], k[1]), ss = r == 1 ? (1, s[0]) : (s[0], s[1])
        var y = isMax ? maxPool2d(x2, kernel: kk, strides: ss, padding: padding) : avgPool2d(x2, kernel: kk, strides: ss, padding: padding)
        if r == 1 { y = y.squeezed(axes: [2]) }
        return [y]
    }

    /// Pooling of any rank and dilation composed from strided slices of the padded input:
    /// the max (or sum) over the kernel's offsets, divided by a constant count for averages.
    func slicedPool(_ x: Tensor, kernel k: [Int], strides s: [Int], dilations d: [Int], max isMax: Bool, includePad override: Bool? = nil) throws -> Tensor {
        let r = k.count
        guard let spatial = Array(x.shape.dims.dropFirst(2)) as [Int?]?, spatial.allSatisfy({ $0 != nil }) else {
            throw fail("dilated or 3-D pooling needs known spatial dimensions, got \(x.shape)")
        }
        let n = spatial.map { $0 ?? 0 }
        let taps = k.reduce(1, *)
        guard taps <= 4096 else { throw fail("kernel \(k) has too many positions for dilated or 3-D pooling") }
        guard let padsAll = try windowPadding(spatial: spatial, kernel: k, strides: s, dilations: d).1 else {
            throw fail("padding needs known spatial dimensions")
        }
        var pads = padsAll
        let ext = (0..<r).map { (k[$0] - 1) * d[$0] + 1 }
        let out = try poolOutputSizes(input: n, extents: ext, strides: s, pads: &pads, shape: x.shape)
        let widths = [(0, 0), (0, 0)] + (0..<r).map { (pads[$0], pads[$0 + r]) }
        let padded = x.padded(widths, value: isMax ? -Double.infinity : 0)
        var acc: Tensor? = nil
        var offset = [Int](repeating: 0, count: r)
        for _ in 0..<taps {
            var b: [Int?] = [nil, nil], e: [Int?] = [nil, nil]
            var st = [1, 1]
            for i in 0..<r {
                b.append(offset[i] * d[i])
                e.append(offset[i] * d[i] + (out[i] - 1) * s[i] + 1)
                st.append(s[i])
            }
            let piece = padded.slice(begin: b, end: e, strides: st)
            acc = acc.map { isMax ? maximum($0, piece) : $0 + piece } ?? piece
            var a = r - 1
            while a >= 0 { offset[a] += 1; if offset[a] < k[a] { break }; offset[a] = 0; a -= 1 }
        }
        guard let total = acc else { throw fail("empty kernel") }
        if isMax { return total }
        // Averages: divide by how many taps of each window are counted (a constant).
        let includePad = try override ?? (int("count_include_pad", 0) != 0)
        let outCount = out.reduce(1, *)
        guard outCount <= limits.maxElements / Swift.max(taps, 1) else { throw fail("pooling output too large") }
        var counts = [Double](repeating: 0, count: outCount)
        var o = [Int](repeating: 0, count: r)
        for flat in 0..<outCount {
            var c = 1
            for i in 0..<r {
                var m = 0
                for t in 0..<k[i] {
                    let pos = o[i] * s[i] + t * d[i] - pads[i]   // position in the unpadded input
                    let inside = pos >= 0 && pos < n[i]
                    let inPads = pos >= -pads[i] && pos < n[i] + padsAll[i + r]
                    if inside || (includePad && inPads) { m += 1 }
                }
                c *= m
            }
            counts[flat] = Double(Swift.max(c, 1))
            var a = r - 1
            while a >= 0 { o[a] += 1; if o[a] < out[a] { break }; o[a] = 0; a -= 1 }
        }
        let countT = try HostTensor(counts, shape: [1, 1] + out).converted(to: x.dtype)
        return total / g.constant(countT)
    }

    /// Output lengths of a pooling window per spatial axis (ONNX's `ceil_mode` included); grows the
    /// trailing pads so the last window of a ceil-mode output fits.
    func poolOutputSizes(input n: [Int], extents ext: [Int], strides s: [Int], pads: inout [Int], shape: Shape) throws -> [Int] {
        let r = n.count
        var out = [Int](repeating: 0, count: r)
        let ceilMode = try int("ceil_mode", 0) != 0
        for i in 0..<r {
            let span = n[i] + pads[i] + pads[i + r] - ext[i]
            guard span >= 0 else { throw fail("the pooling window does not fit the input \(shape)") }
            out[i] = ceilMode ? (span + s[i] - 1) / s[i] + 1 : span / s[i] + 1
            if ceilMode, (out[i] - 1) * s[i] >= n[i] + pads[i] { out[i] -= 1 }
            pads[i + r] += Swift.max((out[i] - 1) * s[i] + ext[i] - (n[i] + pads[i] + pads[i + r]), 0)
        }
        return out
    }

    /// Max pooling with ONNX's `Indices` output: the flat index (over N·C·spatial, padding not
    /// counted; `storage_order` 1 is column-major) of each window's first maximum.
    func slicedPoolWithIndices(_ x: Tensor, kernel k: [Int], strides s: [Int], dilations d: [Int]) throws -> (Tensor, Tensor) {
        let r = k.count
        guard let dims = x.shape.known else { throw fail("MaxPool's Indices output needs known dimensions, got \(x.shape)") }
        let n = Array(dims.dropFirst(2))
        let taps = k.reduce(1, *)
        guard taps <= 4096, dims.reduce(1, *) <= 1 << 24 else { throw fail("MaxPool's Indices output: input or kernel too large") }
        guard let pads0 = try windowPadding(spatial: n.map { $0 }, kernel: k, strides: s, dilations: d).1 else {
            throw fail("padding needs known spatial dimensions")
        }
        var pads = pads0
        let ext = (0..<r).map { (k[$0] - 1) * d[$0] + 1 }
        let out = try poolOutputSizes(input: n, extents: ext, strides: s, pads: &pads, shape: x.shape)
        let columnMajor = try int("storage_order", 0) != 0
        // Flat index of every (padded) position: (plane · spatial) + position; -1 in the padding.
        let planes = dims[0] * dims[1], plane = n.reduce(1, *)
        let pdims = (0..<r).map { n[$0] + pads[$0] + pads[$0 + r] }
        let pcount = pdims.reduce(1, *)
        var pos = [Int64](repeating: -1, count: planes * pcount)
        var p = [Int](repeating: 0, count: r)
        for flat in 0..<pcount {
            var inside = true, idx = 0
            let order = columnMajor ? Array((0..<r).reversed()) : Array(0..<r)
            for i in order {
                let q = p[i] - pads[i]
                if q < 0 || q >= n[i] { inside = false }
                idx = idx * n[i] + q
            }
            if inside { for pl in 0..<planes { pos[pl * pcount + flat] = Int64(pl * plane + idx) } }
            var a = r - 1
            while a >= 0 { p[a] += 1; if p[a] < pdims[a] { break }; p[a] = 0; a -= 1 }
        }
        let posT = g.constant(try HostTensor(pos, shape: [dims[0], dims[1]] + pdims))
        let widths = [(0, 0), (0, 0)] + (0..<r).map { (pads[$0], pads[$0 + r]) }
        let padded = x.padded(widths, value: -Double.infinity)
        var best: Tensor? = nil, where_: Tensor? = nil
        var offset = [Int](repeating: 0, count: r)
        for _ in 0..<taps {
            var b: [Int?] = [nil, nil], e: [Int?] = [nil, nil]
            var st = [1, 1]
            for i in 0..<r {
                b.append(offset[i] * d[i])
                e.append(offset[i] * d[i] + (out[i] - 1) * s[i] + 1)
                st.append(s[i])
            }
            let v = padded.slice(begin: b, end: e, strides: st), iv = posT.slice(begin: b, end: e, strides: st)
            if let cur = best, let ci = where_ {
                let better = v .> cur
                best = `where`(better, v, cur)
                where_ = `where`(better, iv, ci)
            } else {
                best = v
                where_ = iv
            }
            var a = r - 1
            while a >= 0 { offset[a] += 1; if offset[a] < k[a] { break }; offset[a] = 0; a -= 1 }
        }
        guard let y = best, let i = where_ else { throw fail("empty kernel") }
        return (y, i)
    }

    /// `shape` of a per-channel parameter broadcast against an (N, C, …) tensor.
    func channelShape(rank: Int) -> [Int] { [1, -1] + Array(repeating: 1, count: Swift.max(rank - 2, 0)) }

    func batchNormOp() throws -> [Tensor?] {
        let x = try input(0), scale = try input(1), bias = try input(2), mean = try input(3), variance = try input(4)
        guard x.rank >= 2 else { throw fail("needs an input of rank ≥ 2, got \(x.shape)") }
        let eps = try float("epsilon", 1e-5)
        let cs = channelShape(rank: x.rank)
        let training = opset >= 14 ? try int("training_mode", 0) != 0 : (opset < 9 ? false : node.output.count > 1)
        if training {
            let momentum = try float("momentum", 0.9)
            let axes = [0] + Array(2..<x.rank)
            let m = x.mean(axes: axes, keepDims: true)
            let c = x - m
            let v = (c * c).mean(axes: axes, keepDims: true)
            let y = c * rsqrt(v + eps) * scale.reshaped(cs) + bias.reshaped(cs)
            let runMean = mean * momentum + m.reshaped([-1]) * (1 - momentum)
            let runVar = variance * momentum + v.reshaped([-1]) * (1 - momentum)
            return [y, runMean, runVar]
        }
        let factor = scale.reshaped(cs) * rsqrt(variance.reshaped(cs) + eps)
        return [(x - mean.reshaped(cs)) * factor + bias.reshaped(cs)]
    }

    func instanceNormOp() throws -> Tensor {
        let x = try input(0), scale = try input(1), bias = try input(2)
        guard x.rank >= 3 else { throw fail("needs an input of rank ≥ 3, got \(x.shape)") }
        let eps = try float("epsilon", 1e-5)
        let axes = Array(2..<x.rank), cs = channelShape(rank: x.rank)
        let c = x - x.mean(axes: axes, keepDims: true)
        let v = (c * c).mean(axes: axes, keepDims: true)
        return c * rsqrt(v + eps) * scale.reshaped(cs) + bias.reshaped(cs)
    }

    func layerNormOp() throws -> [Tensor?] {
        let x = try input(0), scale = try input(1)
        let a = try axis(try int("axis", -1), rank: x.rank)
        let eps = try float("epsilon", 1e-5)
        let axes = Array(a..<x.rank)
        let mean = x.mean(axes: axes, keepDims: true)
        let c = x - mean
        let inv = rsqrt((c * c).mean(axes: axes, keepDims: true) + eps)
        var y = c * inv * scale
        if let b = try optInput(2) { y = y + b }
        return [y, mean, inv]
    }

    func softmaxOp(_ op: String) throws -> Tensor {
        let x = try input(0)
        let a = try axis(try int("axis", opset >= 13 ? -1 : 1), rank: x.rank)
        func apply(_ t: Tensor, _ ax: Int) throws -> Tensor {
            switch op {
            case "Softmax": return t.softmax(axis: ax)
            case "LogSoftmax": return t.logSoftmax(axis: ax)
            default:
                guard let n = t.shape.dims[ax] else { throw fail("Hardmax needs a known length on axis \(ax)") }
                var h = oneHot(t.argmax(axis: ax), depth: Swift.max(n, 1), dtype: t.dtype)
                if ax != t.rank - 1 {
                    var perm = Array(0..<(t.rank - 1))
                    perm.insert(t.rank - 1, at: ax)
                    h = h.transposed(perm)
                }
                return h
            }
        }
        if opset >= 13 || a == x.rank - 1 { return try apply(x, a) }
        // Before opset 13 the op works on the input coerced to 2-D at `axis`.
        let inner = x.shape.dims[a...].reduce(Optional(1)) { acc, d in acc.flatMap { p in d.map { p * $0 } } }
        let outer = x.shape.dims[..<a].reduce(Optional(1)) { acc, d in acc.flatMap { p in d.map { p * $0 } } }
        guard inner != nil || outer != nil, let known = x.shape.known else {
            throw fail("opset \(opset) \(op) over axis \(a) needs known dimensions")
        }
        return try apply(x.reshaped([outer ?? -1, inner ?? -1]), 1).reshaped(known)
    }
}

extension NodeContext {
    /// LRN: x / (bias + alpha / size · Σ x² over a window of `size` channels)^beta, the window
    /// [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉] clipped to the channels (zero-padded sums).
    func lrnOp() throws -> Tensor {
        let x = try input(0)
        guard x.dtype.isFloatingPoint, x.rank >= 3, let channels = x.shape.dims[1] else {
            throw fail("needs a float input [N, C, …] with known C, got \(x.dtype)\(x.shape)")
        }
        let size = try int("size", 0)
        guard size >= 1, size <= 4096 else { throw fail("size must be in 1...4096, got \(size)") }
        let alpha = try float("alpha", 0.0001), beta = try float("beta", 0.75), bias = try float("bias", 1)
        let before = (size - 1) / 2, after = size - 1 - before
        var pads = [(Int, Int)](repeating: (0, 0), count: x.rank)
        pads[1] = (before, after)
        let squares = (x * x).padded(pads, value: 0)
        var sum: Tensor?
        for k in 0..<size {
            let s = sliceAxis(squares, axis: 1, begin: k, end: k + channels)
            sum = sum.map { $0 + s } ?? s
        }
        guard let total = sum else { throw fail("empty window") }
        let denom = (total * (alpha / Double(size)) + bias)
        return x / (beta == 0.5 ? sqrt(denom) : denom.pow(beta))
    }
}

extension NodeContext {
    /// AffineGrid: for every output position the homogeneous normalized coordinates
    /// (x, y[, z], 1) — a constant for the known size — times θᵀ, as one batched matmul.
    func affineGridOp() throws -> Tensor {
        let theta = try input(0)
        let size = try staticInts(1, "size")
        guard size.count == 4 || size.count == 5, size.allSatisfy({ $0 >= 1 }) else { throw fail("size \(size) must be [N, C, H, W] or [N, C, D, H, W]") }
        let spatial = Array(size[2...])
        try checkShape(spatial + [spatial.count + 1], "grid")
        let align = try int("align_corners", 0) != 0
        func coordinate(_ i: Int, _ n: Int) -> Double {
            align ? (n == 1 ? -1 : -1 + 2 * Double(i) / Double(n - 1)) : -1 + (2 * Double(i) + 1) / Double(n)
        }
        let count = spatial.reduce(1, *), r = spatial.count
        var base = [Double]()
        base.reserveCapacity(count * (r + 1))
        for p in 0..<count {
            var rest = p, index = [Int](repeating: 0, count: r)
            for a in stride(from: r - 1, through: 0, by: -1) { index[a] = rest % spatial[a]; rest /= spatial[a] }
            for a in stride(from: r - 1, through: 0, by: -1) { base.append(coordinate(index[a], spatial[a])) }   // x first
            base.append(1)
        }
        guard theta.rank == 3, theta.shape.dims[1] == r, theta.shape.dims[2] == r + 1 else {
            throw fail("theta must be [N, \(r), \(r + 1)] for size \(size), got \(theta.shape)")
        }
        let grid = g.constant(try HostTensor(base, shape: [count, r + 1]).converted(to: theta.dtype))
        return grid.matmul(theta, transposeB: true).reshaped([-1] + spatial + [r])   // [N, …, r]
    }
}
