import Graph

// Resize (and the older Upsample). Resizing is separable: each resized axis is a 1-D resize,
// where every output position is a weighted sum of a few input positions along that axis. The
// positions and weights depend only on the sizes, so they are computed here, at import time,
// exactly as ONNX's reference does; the graph then gathers each tap along the axis and sums
// the taps times their weights (nearest: one gather, no arithmetic, exact for every dtype).

/// The taps of a 1-D resize: for each tap t, the input index and weight of every output position.
struct ResizeTaps {
    var indices: [[Int64]]
    var weights: [[Double]]
    /// Output positions whose source lies outside the input (tf_crop_and_resize).
    var extrapolated: [Bool]
}

struct ResizeAxisSpec {
    var mode: String
    var coordinates: String
    var nearestMode: String
    var cubicA: Double
    var excludeOutside: Bool
    var antialias: Bool

    func coefficients(_ ratio: Double, scale: Double) -> [Double] {
        switch mode {
        case "nearest":
            if ratio == ratio.rounded(.down) { return [0, 1] }
            switch nearestMode {
            case "round_prefer_ceil": return [ratio < 0.5 ? 1 : 0, ratio >= 0.5 ? 1 : 0]
            case "floor": return [1, 0]
            case "ceil": return [0, 1]
            default: return [ratio <= 0.5 ? 1 : 0, ratio > 0.5 ? 1 : 0]
            }
        case "linear":
            guard antialias else { return [1 - ratio, ratio] }
            let s = Swift.min(scale, 1)
            let start = Int((-1 / s).rounded(.down)) + 1
            let c = (start..<(start + 2 - 2 * start)).map { Swift.max(0, Swift.min(1, 1 - Swift.abs((Double($0) - ratio) * s))) }
            let sum = c.reduce(0, +)
            return c.map { $0 / sum }
        default:  // cubic
            let a = cubicA
            func kernel(_ x0: Double) -> Double {
                let x = Swift.abs(x0)
                if x <= 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
                return 0
            }
            guard antialias else { return [kernel(ratio + 1), kernel(ratio), kernel(1 - ratio), kernel(2 - ratio)] }
            let s = Swift.min(scale, 1)
            let start = Int((-2 / s).rounded(.down)) + 1
            let c = (start..<(2 - start)).map { kernel(s * (Double($0) - ratio)) }
            let sum = c.reduce(0, +)
            return c.map { $0 / sum }
        }
    }

    /// The taps of resizing `length` elements to `outLength` with `scale` (ONNX's reference,
    /// `_interpolate_1d_along_axis`).
    func taps(length: Int, outLength: Int, scale: Double, roi: (Double, Double)?) -> ResizeTaps {
        let outWidth = scale * Double(length)
        var xs = [Double](), extrapolated = [Bool](repeating: false, count: outLength)
        for o in 0..<outLength {
            let y = Double(o)
            var x: Double
            switch coordinates {
            case "align_corners": x = outWidth == 1 ? 0 : y * Double(length - 1) / (outWidth - 1)
            case "asymmetric": x = y / scale
            case "tf_crop_and_resize":
                let (r0, r1) = roi ?? (0, 1)
                x = outWidth == 1 ? (r1 - r0) * Double(length - 1) / 2 : y * (r1 - r0) * Double(length - 1) / (outWidth - 1)
                x += r0 * Double(length - 1)
                extrapolated[o] = x < 0 || x > Double(length - 1)
            case "pytorch_half_pixel": x = outWidth == 1 ? -0.5 : (y + 0.5) / scale - 0.5
            case "half_pixel_symmetric":
                let adjustment = Double(outLength) / outWidth, center = Double(length) / 2
                x = center * (1 - adjustment) + (y + 0.5) / scale - 0.5
            default: x = (y + 0.5) / scale - 0.5  // half_pixel
            }
            xs.append(x)
        }
        let coeffs = xs.map { x -> [Double] in
            let f = x.rounded(.down)
            return coefficients(x == f ? 1 : x - f, scale: scale)
        }
        let n = coeffs.first?.count ?? 2
        let pad = (n + 1) / 2
        var indices = [[Int64]](repeating: [], count: n), weights = [[Double]](repeating: [], count: n)
        for (o, x) in xs.enumerated() {
            let xp = x + Double(pad)
            let p = xp.rounded(.down), frac = xp - p
            let offset = n % 2 == 0 ? (frac == 0 ? -(n / 2) : -(n / 2) + 1) : (frac <= 0.5 ? -((n - 1) / 2) : -((n - 1) / 2) + 1)
            let start = Int(p) + offset - pad
            var c = coeffs[o]
            if excludeOutside {
                for t in 0..<n where start + t < 0 || start + t >= length { c[t] = 0 }
                let sum = c.reduce(0, +)
                if sum != 0 { c = c.map { $0 / sum } }
            }
            for t in 0..<n {
                indices[t].append(Int64(Swift.max(0, Swift.min(length - 1, start + t))))
                weights[t].append(c[t])
            }
        }
        return ResizeTaps(indices: indices, weights: weights, extrapolated: extrapolated)
    }
}

extension NodeContext {
    /// Resize (opset ≥ 11: X, roi, scales, sizes; opset 10: X, scales) and Upsample (X, scales).
    func resizeOp() throws -> Tensor {
        let x = try input(0)
        let rank = x.rank
        guard let shape = x.shape.known else { throw fail("needs a known input shape, got \(x.shape)") }
        let legacy = node.opType == "Upsample" || opset < 11
        let mode = try string("mode", "nearest")
        guard ["nearest", "linear", "cubic", "bilinear"].contains(mode) else { throw fail("mode '\(mode)' is not one of nearest, linear, cubic") }
        var spec = ResizeAxisSpec(mode: mode == "bilinear" ? "linear" : mode,
                                  coordinates: legacy ? "asymmetric" : try string("coordinate_transformation_mode", "half_pixel"),
                                  nearestMode: legacy ? "floor" : try string("nearest_mode", "round_prefer_floor"),
                                  cubicA: try float("cubic_coeff_a", -0.75), excludeOutside: try int("exclude_outside", 0) != 0,
                                  antialias: try int("antialias", 0) != 0)
        if spec.mode == "nearest" { spec.antialias = false }
        let known = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"]
        guard known.contains(spec.coordinates) else { throw fail("coordinate_transformation_mode '\(spec.coordinates)' is not supported") }
        let axes = try (ints("axes") ?? Array(0..<rank)).map { try axis($0, rank: rank) }
        // Scales or sizes over `axes`, and the roi (starts, then ends).
        var scaleInput: [Double]?, sizeInput: [Int]?, roi: [Double]?
        if legacy {
            if let v = node.opType == "Upsample" && opset < 9 ? nil : staticIfKnown(1) { scaleInput = v.doubles }
            else if let s = try attr("scales") { scaleInput = s.floats.map(Double.init) }
        } else {
            if let v = staticIfKnown(1), v.count > 0 { roi = v.doubles }
            if has(2), let v = staticIfKnown(2), v.count > 0 { scaleInput = v.doubles }
            if has(3) { sizeInput = try staticInts(3, "sizes") }
            if has(2), staticIfKnown(2) == nil { throw fail("scales must be known at import time") }
        }
        var scales = [Double](repeating: 1, count: rank), sizes = shape
        if let s = sizeInput, !s.isEmpty {
            guard s.count == axes.count, s.allSatisfy({ $0 >= 0 }) else { throw fail("sizes \(s) must give one non-negative size per axis \(axes)") }
            for (i, a) in axes.enumerated() { sizes[a] = s[i]; scales[a] = shape[a] == 0 ? 1 : Double(s[i]) / Double(shape[a]) }
            let policy = try string("keep_aspect_ratio_policy", "stretch")
            if policy != "stretch" {
                let picked = axes.map { scales[$0] }
                guard let scale = policy == "not_larger" ? picked.min() : policy == "not_smaller" ? picked.max() : nil else {
                    throw fail("keep_aspect_ratio_policy '\(policy)' is not one of stretch, not_larger, not_smaller")
                }
                for a in axes { scales[a] = scale; sizes[a] = Int(scale * Double(shape[a]) + 0.5) }
            }
        } else if let s = scaleInput {
            guard s.count == axes.count, s.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw fail("scales \(s) must give one positive scale per axis \(axes)") }
            for (i, a) in axes.enumerated() { scales[a] = s[i]; sizes[a] = Int((s[i] * Double(shape[a])).rounded(.down)) }
        } else {
            throw fail("needs scales or sizes")
        }
        try checkShape(sizes, "output size")
        var roiFor: [Int: (Double, Double)] = [:]
        if let r = roi {
            guard r.count == 2 * axes.count else { throw fail("roi has \(r.count) values, needs \(2 * axes.count)") }
            for (i, a) in axes.enumerated() { roiFor[a] = (r[i], r[axes.count + i]) }
        }
        // Integer inputs interpolate in float64 and round back (as the reference saturates).
        let work = x.dtype.isFloatingPoint || spec.mode == "nearest" ? x : x.cast(to: .float64)
        var y = work
        for a in axes {
            let r = roiFor[a]
            let identityRoi = r.map { abs($0.0) < 1e-9 && abs($0.1 - 1) < 1e-9 } ?? true
            if abs(scales[a] - 1) < 1e-9 && sizes[a] == shape[a] && identityRoi { continue }
            guard shape[a] > 0 || sizes[a] == 0 else { throw fail("cannot resize an empty axis \(a) to \(sizes[a])") }
            // Antialiased downsampling by a factor f reads about 2f (linear) or 4f (cubic) inputs per output.
            guard !spec.antialias || 1 / scales[a] <= 1024 else { throw fail("antialiasing a downscale by \(1 / scales[a]) is not supported (at most 1024)") }
            y = try resizeAxis(y, axis: a, taps: spec.taps(length: shape[a], outLength: sizes[a], scale: scales[a], roi: r),
                               extrapolation: try float("extrapolation_value", 0))
        }
        if y.dtype != x.dtype {
            var rounded = y.map(.round)
            if let kind = elemType(0).flatMap({ ONNXTensor.narrowKind(ofCode: $0) }), let (lo, hi) = Self.quantizedRanges[kind] {
                rounded = minimum(maximum(rounded, scalar(lo, .float64)), scalar(hi, .float64))
            }
            y = rounded.cast(to: x.dtype)
        }
        return try checkResult(y)
    }

    /// Applies the taps of a 1-D resize along `axis`: one gather when every output picks a
    /// single input (nearest), otherwise the sum over taps of gather × weight.
    func resizeAxis(_ x: Tensor, axis a: Int, taps: ResizeTaps, extrapolation: Double) throws -> Tensor {
        let outLength = taps.extrapolated.count
        var shape = [Int](repeating: 1, count: x.rank)
        shape[a] = outLength
        var out: Tensor
        if let picked = Self.selection(taps) {
            out = x.gather(g.constant(HostTensor(picked)), axis: a)
        } else {
            var sum: Tensor?
            for (idx, w) in zip(taps.indices, taps.weights) where w.contains(where: { $0 != 0 }) {
                let weights = g.constant(try HostTensor(w, shape: shape).converted(to: x.dtype))
                let term = x.gather(g.constant(HostTensor(idx)), axis: a) * weights
                sum = sum.map { $0 + term } ?? term
            }
            out = sum ?? x.gather(g.constant(HostTensor(taps.indices[0])), axis: a) * scalar(0, x.dtype)
        }
        if taps.extrapolated.contains(true) {
            let mask = g.constant(try HostTensor(taps.extrapolated.map { $0 ? 1.0 : 0.0 }, shape: shape).converted(to: .bool))
            out = `where`(mask, scalar(extrapolation, out.dtype), out)
        }
        return out
    }

    /// The input index of every output when each output takes exactly one input with weight 1.
    static func selection(_ taps: ResizeTaps) -> [Int64]? {
        var picked = [Int64]()
        for o in 0..<taps.extrapolated.count {
            let ones = taps.weights.indices.filter { taps.weights[$0][o] == 1 }
            guard ones.count == 1, taps.weights.allSatisfy({ $0[o] == 0 || $0[o] == 1 }) else { return nil }
            picked.append(taps.indices[ones[0]][o])
        }
        return picked
    }
}
