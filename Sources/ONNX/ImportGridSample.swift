import Graph

// GridSample: every output position samples the input at coordinates read from `grid` (values
// known only at run time), so the taps are computed in the graph: denormalized coordinates,
// the padding mode applied to them (border: clamped, reflection: reflected), tap indices and
// weights per spatial axis (nearest: 1 tap, linear: 2, cubic: 4), then one gather per
// combination of taps from the input viewed as [N·spatial, C] and a weighted sum. Follows
// ONNX's reference (opset 16/20), for 2-D and 3-D inputs.

extension NodeContext {
    func gridSampleOp() throws -> Tensor {
        let x = try input(0), grid = try input(1)
        guard x.dtype.isFloatingPoint, x.rank == 4 || x.rank == 5, grid.rank == x.rank, let xs = x.shape.known,
              let gs = grid.shape.known, gs.last == x.rank - 2, gs[0] == xs[0] else {
            throw fail("needs X [N, C, spatial…] and grid [N, out…, \(x.rank - 2)] of known shapes, got \(x.shape) and \(grid.shape)")
        }
        let r = x.rank - 2, n = xs[0], c = xs[1], spatial = Array(xs[2...])
        var mode = try string("mode", "linear")
        if mode == "bilinear" { mode = "linear" }
        if mode == "bicubic" { mode = "cubic" }
        guard ["nearest", "linear", "cubic"].contains(mode) else { throw fail("mode '\(mode)' is not one of nearest, linear, cubic") }
        let padding = try string("padding_mode", "zeros")
        guard ["zeros", "border", "reflection"].contains(padding) else { throw fail("padding_mode '\(padding)' is not one of zeros, border, reflection") }
        let align = try int("align_corners", 0) != 0
        let taps = mode == "nearest" ? 1 : (mode == "linear" ? 2 : 4)
        let dt = x.dtype
        func s(_ v: Double) -> Tensor { scalar(v, dt) }

        /// x reflected into [lo, hi] (the reference's _gs_reflect), elementwise.
        func reflect(_ v: Tensor, _ lo: Double, _ hi: Double) -> Tensor {
            let range = hi - lo
            guard range > 0 else { return v * 0 + s(lo) }
            func fold(_ dx: Tensor, evenFrom: Double, evenSign: Double) -> Tensor {
                let k = floor(dx / range)
                let rem = dx - k * range
                let odd = (k - floor(k / 2) * 2) .> s(0.5)
                return `where`(odd, s(evenFrom == lo ? hi : lo) - rem * evenSign, s(evenFrom) + rem * evenSign)
            }
            let below = fold(s(lo) - v, evenFrom: lo, evenSign: 1)     // even: lo + r, odd: hi - r
            let above = fold(v - s(hi), evenFrom: hi, evenSign: -1)    // even: hi - r, odd: lo + r
            return `where`(v .< s(lo), below, `where`(v .> s(hi), above, v))
        }

        // Per spatial axis: tap indices (int64, in range) and weights (0 where a zero-padded tap falls outside).
        var axisTaps: [[(index: Tensor, weight: Tensor)]] = []
        for a in 0..<r {
            let d = Double(spatial[a])
            let u = sliceAxis(grid, axis: r + 1, begin: r - 1 - a, end: r - a).squeezed(axes: [r + 1]).cast(to: dt)   // [N, out…]
            var v = align ? (u + 1) * 0.5 * (d - 1) : ((u + 1) * d - 1) * 0.5
            if mode == "nearest" { v = v.map(.round) }
            let (lo, hi) = align ? (0.0, d - 1) : (-0.5, d - 0.5)
            let outside = (v .< s(lo)) .| (v .> s(hi))
            if padding == "border" { v = `where`(outside, minimum(maximum(v, s(0)), s(d - 1)), v) }
            if padding == "reflection" { v = `where`(outside, reflect(v, lo, hi), v) }
            let base = mode == "nearest" ? v : floor(v)
            let frac = v - base
            var weights: [Tensor]
            switch mode {
            case "nearest": weights = [v * 0 + 1]
            case "linear": weights = [1 - frac, frac]
            default:
                let A = -0.75
                func k1(_ t: Tensor) -> Tensor { ((t * (A + 2) - (A + 3)) * t) * t + 1 }                   // |t| ≤ 1
                func k2(_ t: Tensor) -> Tensor { ((t * A - 5 * A) * t + 8 * A) * t - 4 * A }               // 1 < |t| < 2
                weights = [k2(frac + 1), k1(frac), k1(1 - frac), k2(2 - frac)]
            }
            let first = mode == "cubic" ? -1.0 : 0.0
            var list: [(Tensor, Tensor)] = []
            for (t, w) in weights.enumerated() {
                var idx = base + (first + Double(t))
                var weight = w
                switch padding {
                case "zeros":
                    let inside = (idx .>= s(0)) .& (idx .<= s(d - 1))
                    weight = `where`(inside, w, s(0))
                    idx = minimum(maximum(idx, s(0)), s(d - 1))
                case "border": idx = minimum(maximum(idx, s(0)), s(d - 1))
                default: idx = minimum(maximum(floor(reflect(idx, lo, hi)), s(0)), s(d - 1))
                }
                list.append((idx.cast(to: .int64), weight))
            }
            axisTaps.append(list)
        }
        // X as rows [N·spatial, C]; the row of (n, i₀, i₁, …) is n·Π d + Σ i_a·stride_a.
        let points = spatial.reduce(1, *)
        let rows = x.transposed([0] + Array(2..<(2 + r)) + [1]).reshaped([n * points, c])
        let st = strides(spatial)
        var batchShape = [Int](repeating: 1, count: 1 + r)
        batchShape[0] = n
        let batchOffset = g.constant(try HostTensor((0..<n).map { Int64($0 * points) }, shape: batchShape))
        var y: Tensor?
        var combo = [Int](repeating: 0, count: r)
        repeat {
            var flat = batchOffset
            var weight: Tensor?
            for a in 0..<r {
                let (idx, w) = axisTaps[a][combo[a]]
                flat = flat + idx * g.constant(HostTensor(scalar: Int64(st[a])))
                weight = weight.map { $0 * w } ?? w
            }
            guard let w = weight else { break }
            let picked = rows.gather(flat, axis: 0)                                  // [N, out…, C]
            let we = w.expandingDims(axis: r + 1)
            let term = `where`(we .== s(0), s(0), picked * we)   // a zero weight ignores the value (even ±∞)
            y = y.map { $0 + term } ?? term
            var a = r - 1
            while a >= 0 { combo[a] += 1; if combo[a] < taps { break }; combo[a] = 0; a -= 1 }
            if a < 0 { break }
        } while true
        guard let out = y else { throw fail("no taps") }
        return try checkResult(out.transposed([0, r + 1] + Array(1...r)))
    }
}
