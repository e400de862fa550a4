// conv2d through im2col + GEMM, its two backward ops through GEMM (+ col2im), and 2-D pooling.

/// The concrete geometry of a conv2d or pooling window op.
struct WindowGeometry: Sendable {
    var n: Int, c: Int, h: Int, w: Int
    var kh: Int, kw: Int
    var sh: Int, sw: Int
    var dh: Int, dw: Int
    var padTop: Int, padLeft: Int
    var oh: Int, ow: Int

    /// Geometry of a window op over an NCHW input.
    init(input x: [Int], kernel: (Int, Int), strides: (Int, Int), dilation: (Int, Int), padding: Padding, output o: [Int]) {
        n = x[0]; c = x[1]; h = x[2]; w = x[3]
        kh = kernel.0; kw = kernel.1
        sh = strides.0; sw = strides.1
        dh = dilation.0; dw = dilation.1
        let eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1
        padTop = padding.resolve(inputLength: h, extent: eh, stride: sh, axis: 0).0
        padLeft = padding.resolve(inputLength: w, extent: ew, stride: sw, axis: 1).0
        oh = o[2]; ow = o[3]
    }

    var ohw: Int { oh * ow }
    /// Rows of the im2col matrix: C·KH·KW.
    var colRows: Int { c * kh * kw }
    /// Columns of the im2col matrix: N·OH·OW.
    var colCols: Int { n * oh * ow }
}

enum ConvKernels {
    /// `col[(c,kh,kw), (n,oh,ow)] = x[n, c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw]` (0 in the padding).
    static func im2col<T: KernelFloat>(_: T.Type, x: UnsafePointer<T>, g: WindowGeometry, col: UnsafeMutablePointer<T>) {
        let cols = g.colCols, hw = g.h * g.w, chw = g.c * hw
        if isDense(g) {
            // Stride 1, no dilation, every window inside: each (row, image) is OH plain copies of OW elements.
            let ohw = g.ohw, kk = g.kh * g.kw
            Parallelism.forEachChunk(g.colRows, minChunk: max(1, 8192 / max(cols, 1))) { rows in
                for r in rows {
                    let c = r / kk, kh = (r / g.kw) % g.kh, kw = r % g.kw
                    let src0 = x + c * hw + kh * g.w + kw
                    for n in 0..<g.n {
                        var s = src0 + n * chw
                        var d = col + r * cols + n * ohw
                        for _ in 0..<g.oh {
                            for j in 0..<g.ow { d[j] = s[j] }
                            s += g.w
                            d += g.ow
                        }
                    }
                }
            }
            return
        }
        Parallelism.forEachChunk(g.colRows, minChunk: max(1, 4096 / max(cols, 1))) { rows in
            for r in rows {
                let c = r / (g.kh * g.kw), kh = (r / g.kw) % g.kh, kw = r % g.kw
                let dst = col + r * cols
                for n in 0..<g.n {
                    let plane = x + n * chw + c * hw
                    for oh in 0..<g.oh {
                        let ih = oh * g.sh - g.padTop + kh * g.dh
                        let d = dst + (n * g.oh + oh) * g.ow
                        if ih < 0 || ih >= g.h {
                            d.update(repeating: 0, count: g.ow)
                            continue
                        }
                        let rowp = plane + ih * g.w
                        let off = kw * g.dw - g.padLeft
                        if g.sw == 1 {
                            // Valid ow range: 0 <= ow + off < w (plain loops: rows are short).
                            let lo = Swift.min(Swift.max(-off, 0), g.ow), hi = Swift.max(Swift.min(g.w - off, g.ow), lo)
                            for ow in 0..<lo { d[ow] = 0 }
                            let src = rowp + off
                            for ow in lo..<hi { d[ow] = src[ow] }
                            for ow in hi..<g.ow { d[ow] = 0 }
                        } else {
                            for ow in 0..<g.ow {
                                let iw = ow * g.sw + off
                                d[ow] = (iw >= 0 && iw < g.w) ? rowp[iw] : 0
                            }
                        }
                    }
                }
            }
        }
    }

    /// `dx[n, c, ih, iw] += dcol[(c,kh,kw), (n,oh,ow)]` over dx zeroed first (parallel over channels).
    static func col2im<T: KernelFloat>(_: T.Type, col: UnsafePointer<T>, g: WindowGeometry, dx: UnsafeMutablePointer<T>) {
        let cols = g.colCols, hw = g.h * g.w, chw = g.c * hw
        if isDense(g) {
            let ohw = g.ohw
            Parallelism.forEachChunk(g.c, minChunk: 1) { channels in
                for c in channels {
                    for n in 0..<g.n {
                        let plane = dx + n * chw + c * hw
                        plane.update(repeating: 0, count: hw)
                        for kh in 0..<g.kh {
                            for kw in 0..<g.kw {
                                var s = col + ((c * g.kh + kh) * g.kw + kw) * cols + n * ohw
                                var d = plane + kh * g.w + kw
                                for _ in 0..<g.oh {
                                    for j in 0..<g.ow { d[j] += s[j] }
                                    s += g.ow
                                    d += g.w
                                }
                            }
                        }
                    }
                }
            }
            return
        }
        Parallelism.forEachChunk(g.c, minChunk: 1) { channels in
            for c in channels {
                for n in 0..<g.n { (dx + n * chw + c * hw).update(repeating: 0, count: hw) }
                for kh in 0..<g.kh {
                    for kw in 0..<g.kw {
                        let src = col + ((c * g.kh + kh) * g.kw + kw) * cols
                        for n in 0..<g.n {
                            let plane = dx + n * chw + c * hw
                            for oh in 0..<g.oh {
                                let ih = oh * g.sh - g.padTop + kh * g.dh
                                if ih < 0 || ih >= g.h { continue }
                                let s = src + (n * g.oh + oh) * g.ow
                                let rowp = plane + ih * g.w
                                let off = kw * g.dw - g.padLeft
                                if g.sw == 1 {
                                    let lo = Swift.min(Swift.max(-off, 0), g.ow), hi = Swift.max(Swift.min(g.w - off, g.ow), lo)
                                    let dst = rowp + off
                                    for ow in lo..<hi { dst[ow] += s[ow] }
                                } else {
                                    for ow in 0..<g.ow {
                                        let iw = ow * g.sw + off
                                        if iw >= 0 && iw < g.w { rowp[iw] += s[ow] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Stride 1, no dilation, no padding reached: im2col rows are plain copies.
    static func isDense(_ g: WindowGeometry) -> Bool {
        g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.padTop == 0 && g.padLeft == 0 && g.oh > 0 && g.ow > 0
            && g.oh - 1 + g.kh <= g.h && g.ow - 1 + g.kw <= g.w
    }

    /// Images per im2col chunk: the column matrix of a chunk stays about 1 MB (cache-resident between
    /// im2col and its GEMM), and scratch stays small.
    static func chunkImages(_ g: WindowGeometry) -> Int {
        let perImage = Swift.max(g.colRows * g.ohw, 1)
        return Swift.max(1, Swift.min(g.n, (1 << 18) / perImage))
    }

    /// Scratch elements the conv ops need: a column chunk + a [O, chunk·OH·OW] product or dy transpose.
    static func conv2dScratch(_ g: WindowGeometry, outChannels o: Int) -> Int {
        let cols = chunkImages(g) * g.ohw
        return g.colRows * cols + o * cols
    }

    /// Scratch for the backward ops (same layout as the forward op).
    static func backwardScratch(_ g: WindowGeometry, outChannels o: Int) -> Int { conv2dScratch(g, outChannels: o) }

    /// The geometry of images `n0 ..< n0 + count`.
    @inline(__always)
    static func chunk(_ g: WindowGeometry, _ count: Int) -> WindowGeometry {
        var c = g
        c.n = count
        return c
    }

    /// conv2d forward, chunk by chunk of images: im2col, one GEMM, transpose into out [N, O, OH, OW].
    static func conv2d<T: KernelFloat>(_ t: T.Type, x: UnsafeRawPointer, filter: UnsafeRawPointer, outChannels O: Int,
                                       g: WindowGeometry, out: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer) {
        let total = g.n * O * g.ohw
        guard total > 0 else { return }
        let y = out.assumingMemoryBound(to: T.self)
        if g.colRows == 0 { y.update(repeating: 0, count: total); return }
        let nc = chunkImages(g)
        let col = scratch.assumingMemoryBound(to: T.self)
        let tmp = col + g.colRows * nc * g.ohw
        let xs = x.assumingMemoryBound(to: T.self), w = filter.assumingMemoryBound(to: T.self)
        let chw = g.c * g.h * g.w
        for n0 in stride(from: 0, to: g.n, by: nc) {
            let gc = chunk(g, Swift.min(nc, g.n - n0))
            im2col(t, x: xs + n0 * chw, g: gc, col: col)
            T.gemm(false, false, O, gc.colCols, g.colRows, 1, w, g.colRows, col, gc.colCols, 0, tmp, gc.colCols)
            // tmp [O, n, OHW] -> out [n, O, OHW]
            StridedCopy.copy(shape: [gc.n, O, g.ohw], src: tmp, srcStrides: [g.ohw, gc.n * g.ohw, 1], dst: y + n0 * O * g.ohw,
                             dstStrides: [O * g.ohw, g.ohw, 1], elementSize: MemoryLayout<T>.size)
        }
    }

    /// dy [N, O, OHW] -> dyT [O, N·OHW].
    static func transposeDy<T: KernelFloat>(_: T.Type, dy: UnsafeRawPointer, O: Int, g: WindowGeometry, dst: UnsafeMutablePointer<T>) {
        StridedCopy.copy(shape: [O, g.n, g.ohw], src: dy, srcStrides: [g.ohw, O * g.ohw, 1], dst: dst,
                         dstStrides: [g.n * g.ohw, g.ohw, 1], elementSize: MemoryLayout<T>.size)
    }

    /// Gradient with respect to the filter: dW [O, C·KH·KW] = Σ over chunks of dyT × colᵀ.
    static func conv2dBackwardFilter<T: KernelFloat>(_ t: T.Type, x: UnsafeRawPointer, dy: UnsafeRawPointer, outChannels O: Int,
                                                     g: WindowGeometry, out: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer) {
        let dW = out.assumingMemoryBound(to: T.self)
        guard O * g.colRows > 0 else { return }
        if g.colCols == 0 { dW.update(repeating: 0, count: O * g.colRows); return }
        let nc = chunkImages(g)
        let col = scratch.assumingMemoryBound(to: T.self)
        let dyT = col + g.colRows * nc * g.ohw
        let xs = x.assumingMemoryBound(to: T.self), dys = dy.assumingMemoryBound(to: T.self)
        let chw = g.c * g.h * g.w
        for n0 in stride(from: 0, to: g.n, by: nc) {
            let gc = chunk(g, Swift.min(nc, g.n - n0))
            im2col(t, x: xs + n0 * chw, g: gc, col: col)
            transposeDy(t, dy: dys + n0 * O * g.ohw, O: O, g: gc, dst: dyT)
            T.gemm(false, true, O, g.colRows, gc.colCols, 1, dyT, gc.colCols, col, gc.colCols, n0 == 0 ? 0 : 1, dW, g.colRows)
        }
    }

    /// Gradient with respect to the input: dx = col2im(Wᵀ × dyT), chunk by chunk of images.
    static func conv2dBackwardInput<T: KernelFloat>(_ t: T.Type, dy: UnsafeRawPointer, filter: UnsafeRawPointer, outChannels O: Int,
                                                    g: WindowGeometry, out: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer) {
        let dx = out.assumingMemoryBound(to: T.self)
        let total = g.n * g.c * g.h * g.w
        guard total > 0 else { return }
        if O == 0 || g.colCols == 0 || g.colRows == 0 { dx.update(repeating: 0, count: total); return }
        let nc = chunkImages(g)
        let dcol = scratch.assumingMemoryBound(to: T.self)
        let dyT = dcol + g.colRows * nc * g.ohw
        let dys = dy.assumingMemoryBound(to: T.self), w = filter.assumingMemoryBound(to: T.self)
        let chw = g.c * g.h * g.w
        for n0 in stride(from: 0, to: g.n, by: nc) {
            let gc = chunk(g, Swift.min(nc, g.n - n0))
            transposeDy(t, dy: dys + n0 * O * g.ohw, O: O, g: gc, dst: dyT)
            T.gemm(true, false, g.colRows, gc.colCols, O, 1, w, g.colRows, dyT, gc.colCols, 0, dcol, gc.colCols)
            col2im(t, col: dcol, g: gc, dx: dx + n0 * chw)
        }
    }

    // MARK: Pooling

    @inline(__always)
    static func windowRange(_ o: Int, stride s: Int, pad p: Int, k: Int, length n: Int) -> Range<Int> {
        let lo = o * s - p
        return Swift.max(lo, 0)..<Swift.min(lo + k, n)
    }

    /// Max (first maximum; NaN wins) or average (valid positions only) pooling per plane.
    static func pool<T: KernelFloat>(_: T.Type, max isMax: Bool, x: UnsafeRawPointer, g: WindowGeometry, out: UnsafeMutableRawPointer) {
        let xs = x.assumingMemoryBound(to: T.self), ys = out.assumingMemoryBound(to: T.self)
        let planes = g.n * g.c, hw = g.h * g.w
        let inside = windowsInside(g)
        Parallelism.forEachChunk(planes, minChunk: max(1, 8192 / max(hw, 1))) { range in
            for p in range {
                let src = xs + p * hw, dst = ys + p * g.ohw
                if inside {
                    poolInside(isMax, src, g, dst)
                    continue
                }
                for oh in 0..<g.oh {
                    let hr = windowRange(oh, stride: g.sh, pad: g.padTop, k: g.kh, length: g.h)
                    for ow in 0..<g.ow {
                        let wr = windowRange(ow, stride: g.sw, pad: g.padLeft, k: g.kw, length: g.w)
                        var acc: T = isMax ? -T.infinity : 0
                        var cnt = 0
                        for ih in hr {
                            let row = src + ih * g.w
                            for iw in wr {
                                let v = row[iw]
                                if isMax { if v > acc || v != v { acc = v } } else { acc += v }
                                cnt += 1
                            }
                        }
                        dst[oh * g.ow + ow] = cnt == 0 ? 0 : (isMax ? acc : acc / T(cnt))
                    }
                }
            }
        }
    }

    /// Whether every window lies inside the input (no padding reached): the fast paths apply.
    static func windowsInside(_ g: WindowGeometry) -> Bool {
        g.padTop == 0 && g.padLeft == 0 && g.oh > 0 && g.ow > 0
            && (g.oh - 1) * g.sh + g.kh <= g.h && (g.ow - 1) * g.sw + g.kw <= g.w
    }

    /// Pooling of one plane whose windows are all inside: no clamping; 2×2 stride-2 max pooling unrolled.
    @inline(__always)
    static func poolInside<T: KernelFloat>(_ isMax: Bool, _ src: UnsafePointer<T>, _ g: WindowGeometry, _ dst: UnsafeMutablePointer<T>) {
        let w = g.w
        if isMax && g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 {
            for oh in 0..<g.oh {
                let r0 = src + 2 * oh * w, r1 = r0 + w, d = dst + oh * g.ow
                for ow in 0..<g.ow {
                    let a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], e = r1[2 * ow + 1]
                    let total = (a + b) + (c + e)
                    if total == total {
                        // No NaN: plain maxima (selects, no branches).
                        let m1 = b > a ? b : a, m2 = e > c ? e : c
                        d[ow] = m2 > m1 ? m2 : m1
                        continue
                    }
                    let m1 = (b > a || b != b) && a == a ? b : a
                    let m2 = (c > m1 || c != c) && m1 == m1 ? c : m1
                    d[ow] = (e > m2 || e != e) && m2 == m2 ? e : m2
                }
            }
            return
        }
        let inv = 1 / T(g.kh * g.kw)
        for oh in 0..<g.oh {
            for ow in 0..<g.ow {
                let base = src + oh * g.sh * w + ow * g.sw
                var acc: T = isMax ? base[0] : 0
                for i in 0..<g.kh {
                    let row = base + i * w
                    if isMax {
                        for j in 0..<g.kw { let v = row[j]; if (v > acc || v != v) && acc == acc { acc = v } }
                    } else {
                        for j in 0..<g.kw { acc += row[j] }
                    }
                }
                dst[oh * g.ow + ow] = isMax ? acc : acc * inv
            }
        }
    }

    /// Gradient of max pooling: each window's dy goes to its first maximum.
    static func maxPoolBackward<T: KernelFloat>(_: T.Type, x: UnsafeRawPointer, dy: UnsafeRawPointer, g: WindowGeometry,
                                                out: UnsafeMutableRawPointer) {
        let xs = x.assumingMemoryBound(to: T.self), dys = dy.assumingMemoryBound(to: T.self)
        let dx = out.assumingMemoryBound(to: T.self)
        let planes = g.n * g.c, hw = g.h * g.w
        let inside = windowsInside(g)
        if inside && g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 {
            // Non-overlapping 2×2 windows: every input element gets its window's dy or 0, written once.
            let w = g.w
            Parallelism.forEachChunk(planes, minChunk: max(1, 8192 / max(hw, 1))) { range in
                for p in range {
                    let src = xs + p * hw, d = dx + p * hw, gy = dys + p * g.ohw
                    if 2 * g.oh < g.h || 2 * g.ow < g.w { d.update(repeating: 0, count: hw) }
                    for oh in 0..<g.oh {
                        let r0 = src + 2 * oh * w, r1 = r0 + w, d0 = d + 2 * oh * w, d1 = d0 + w
                        for ow in 0..<g.ow {
                            let a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], e = r1[2 * ow + 1]
                            let v = gy[oh * g.ow + ow]
                            let total = (a + b) + (c + e)
                            if total == total {
                                // No NaN: the first maximum in row-major window order, without branches.
                                let m1 = b > a ? b : a, m2 = e > c ? e : c
                                let m = m2 > m1 ? m2 : m1
                                let ka = a == m, kb = !ka && b == m, kc = !ka && !kb && c == m
                                let ke = !ka && !kb && !kc
                                d0[2 * ow] = ka ? v : 0
                                d0[2 * ow + 1] = kb ? v : 0
                                d1[2 * ow] = kc ? v : 0
                                d1[2 * ow + 1] = ke ? v : 0
                                continue
                            }
                            // A NaN (or inf − inf) in the window: first NaN wins, else the first maximum.
                            var k = 0, best = a
                            if best == best {
                                if b != b || b > best { k = 1; best = b }
                                if best == best && (c != c || c > best) { k = 2; best = c }
                                if best == best && (e != e || e > best) { k = 3 }
                            }
                            d0[2 * ow] = k == 0 ? v : 0
                            d0[2 * ow + 1] = k == 1 ? v : 0
                            d1[2 * ow] = k == 2 ? v : 0
                            d1[2 * ow + 1] = k == 3 ? v : 0
                        }
                    }
                }
            }
            return
        }
        Parallelism.forEachChunk(planes, minChunk: max(1, 8192 / max(hw, 1))) { range in
            for p in range {
                let src = xs + p * hw, d = dx + p * hw, gy = dys + p * g.ohw
                d.update(repeating: 0, count: hw)
                if inside {
                    for oh in 0..<g.oh {
                        for ow in 0..<g.ow {
                            let start = oh * g.sh * g.w + ow * g.sw
                            var best = src[start], bi = start
                            if best == best {
                                search: for i in 0..<g.kh {
                                    for j in 0..<g.kw {
                                        let k = start + i * g.w + j
                                        let v = src[k]
                                        if v != v { bi = k; break search }
                                        if v > best { best = v; bi = k }
                                    }
                                }
                            }
                            d[bi] += gy[oh * g.ow + ow]
                        }
                    }
                    continue
                }
                for oh in 0..<g.oh {
                    let hr = windowRange(oh, stride: g.sh, pad: g.padTop, k: g.kh, length: g.h)
                    for ow in 0..<g.ow {
                        let wr = windowRange(ow, stride: g.sw, pad: g.padLeft, k: g.kw, length: g.w)
                        var best = -T.infinity, bi = -1
                        outer: for ih in hr {
                            for iw in wr {
                                let v = src[ih * g.w + iw]
                                if v != v { bi = ih * g.w + iw; break outer }
                                if bi < 0 || v > best { best = v; bi = ih * g.w + iw }
                            }
                        }
                        if bi >= 0 { d[bi] += gy[oh * g.ow + ow] }
                    }
                }
            }
        }
    }

    /// Gradient of average pooling: dy / count to every valid position of the window.
    static func avgPoolBackward<T: KernelFloat>(_: T.Type, dy: UnsafeRawPointer, g: WindowGeometry, out: UnsafeMutableRawPointer) {
        let dys = dy.assumingMemoryBound(to: T.self), dx = out.assumingMemoryBound(to: T.self)
        let planes = g.n * g.c, hw = g.h * g.w
        Parallelism.forEachChunk(planes, minChunk: max(1, 8192 / max(hw, 1))) { range in
            for p in range {
                let d = dx + p * hw, gy = dys + p * g.ohw
                d.update(repeating: 0, count: hw)
                for oh in 0..<g.oh {
                    let hr = windowRange(oh, stride: g.sh, pad: g.padTop, k: g.kh, length: g.h)
                    for ow in 0..<g.ow {
                        let wr = windowRange(ow, stride: g.sw, pad: g.padLeft, k: g.kw, length: g.w)
                        let cnt = hr.count * wr.count
                        if cnt == 0 { continue }
                        let v = gy[oh * g.ow + ow] / T(cnt)
                        for ih in hr { for iw in wr { d[ih * g.w + iw] += v } }
                    }
                }
            }
        }
    }
}
