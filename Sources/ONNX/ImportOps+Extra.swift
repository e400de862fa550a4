import Graph

// Less common ops, each composed from existing IR ops (most need known dimensions).

extension NodeContext {
    /// Converts the ops of this file; nil when the op is not one of them.
    func convertExtra(_ op: String) throws -> [Tensor?]? {
        switch op {
        case "Sinh", "Cosh":
            let x = try input(0)
            let e = exp(x), ei = exp(-x)
            return [(op == "Sinh" ? e - ei : e + ei) * 0.5]
        case "Asinh":
            let x = try input(0)
            return [log(x + sqrt(x * x + 1))]
        case "Acosh":
            let x = try input(0)
            return [log(x + sqrt(x * x - 1))]
        case "Atanh":
            let x = try input(0)
            return [log((x + 1) / (1 - x)) * 0.5]
        case "Swish":
            let x = try input(0)
            return [x * sigmoid(x * (try float("alpha", 1)))]
        case "Shrink":
            let x = try input(0)
            let bias = try float("bias", 0), lambd = try float("lambd", 0.5)
            let zero = scalar(0, x.dtype)
            return [`where`(x .< scalar(-lambd, x.dtype), x + bias, `where`(x .> scalar(lambd, x.dtype), x - bias, zero))]
        case "Trilu": return [try triluOp()]
        case "CumSum": return [try cumSumOp()]
        case "DepthToSpace", "SpaceToDepth": return [try depthSpaceOp(op == "DepthToSpace")]
        case "EyeLike": return [try eyeLikeOp()]
        case "MeanVarianceNormalization":
            let x = try input(0)
            let axes = try (ints("axes") ?? [0, 2, 3]).map { try axis($0, rank: x.rank) }
            let mean = x.mean(axes: axes, keepDims: true)
            let std = sqrt((x * x).mean(axes: axes, keepDims: true) - mean * mean)
            return [(x - mean) / (std + 1e-9)]
        case "LpNormalization":
            let x = try input(0)
            let a = try axis(try int("axis", -1), rank: x.rank)
            let p = try int("p", 2)
            guard p == 1 || p == 2 else { throw fail("p must be 1 or 2, got \(p)") }
            let norm = p == 1 ? abs(x).sum(axes: [a], keepDims: true) : sqrt((x * x).sum(axes: [a], keepDims: true))
            let zero = scalar(0, x.dtype)
            return [`where`(norm .== zero, zero, x / `where`(norm .== zero, scalar(1, x.dtype), norm))]
        case "GroupNormalization": return [try groupNormOp()]
        case "RMSNormalization":
            let x = try input(0), scale = try input(1)
            let a = try axis(try int("axis", -1), rank: x.rank)
            let eps = try float("epsilon", 1e-5)
            return [x * rsqrt((x * x).mean(axes: Array(a..<x.rank), keepDims: true) + eps) * scale]
        case "GatherElements": return [try gatherElementsOp()]
        default: return nil
        }
    }

    func knownDims(_ t: Tensor, _ what: String) throws -> [Int] {
        guard let k = t.shape.known else { throw fail("\(what) needs known dimensions, got \(t.shape)") }
        return k
    }

    func triluOp() throws -> Tensor {
        let x = try input(0)
        guard x.rank >= 2, let n = x.shape.dims[x.rank - 2], let m = x.shape.dims[x.rank - 1] else {
            throw fail("Trilu needs a matrix with known last two dimensions, got \(x.shape)")
        }
        guard n * m <= limits.maxElements else { throw fail("matrix too large") }
        let k = try has(1) ? (intValues(try staticValue(1, "k")).first ?? 0) : 0
        let upper = try int("upper", 1) != 0
        var mask = [Bool](repeating: false, count: n * m)
        for i in 0..<n { for j in 0..<m { mask[i * m + j] = upper ? j - i >= k : j - i <= k } }
        let maskT = g.constant(try HostTensor(mask, shape: [n, m]))
        return `where`(maskT, x, scalar(0, x.dtype))
    }

    /// CumSum's and CumProd's input, axis (a static scalar), its known length (at most
    /// `maxLength`) and the exclusive and reverse flags.
    func cumulativeArguments(maxLength: Int) throws -> (x: Tensor, axis: Int, length: Int, exclusive: Bool, reverse: Bool) {
        let x = try input(0)
        guard let av = try staticValue(1, "axis").scalarValue else { throw fail("axis must be a scalar") }
        let a = try axis(Int(av), rank: x.rank)
        guard let n = x.shape.dims[a] else { throw fail("\(node.opType) needs a known length on axis \(a)") }
        guard n <= maxLength else { throw fail("\(node.opType) over \(n) elements is not supported") }
        return (x, a, n, try int("exclusive", 0) != 0, try int("reverse", 0) != 0)
    }

    func cumSumOp() throws -> Tensor {
        var (x, a, n, exclusive, reverse) = try cumulativeArguments(maxLength: 1 << 13)
        let dtype = x.dtype
        if !dtype.isFloatingPoint { x = x.cast(to: .float64) }
        // out_j = Σ_i x_i T[i][j] with a triangular 0/1 matrix T.
        var tri = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n {
            let take = reverse ? (exclusive ? i > j : i >= j) : (exclusive ? i < j : i <= j)
            tri[i * n + j] = take ? 1 : 0
        } }
        let t = g.constant(try HostTensor(tri, shape: [n, n]).converted(to: x.dtype))
        var perm = Array(0..<x.rank)
        perm.remove(at: a)
        perm.append(a)
        var inv = [Int](repeating: 0, count: x.rank)
        for (i, p) in perm.enumerated() { inv[p] = i }
        var moved = x.transposed(perm)
        let wasVector = moved.rank == 1
        if wasVector { moved = moved.expandingDims(axis: 0) }
        var y = moved.matmul(t)
        if wasVector { y = y.squeezed(axes: [0]) }
        y = y.transposed(inv)
        if !dtype.isFloatingPoint { y = y.map(.round).cast(to: dtype) }
        return y
    }

    func depthSpaceOp(_ toSpace: Bool) throws -> Tensor {
        let x = try input(0)
        guard x.rank == 4, let c = x.shape.dims[1], let h = x.shape.dims[2], let w = x.shape.dims[3] else {
            throw fail("needs an NCHW input with known C, H, W, got \(x.shape)")
        }
        let b = try int("blocksize", 0)
        guard b > 0, b <= 1 << 10 else { throw fail("blocksize \(b) out of range") }
        let n = x.shape.dims[0] ?? -1
        if toSpace {
            guard c % (b * b) == 0 else { throw fail("channels \(c) not divisible by blocksize² \(b * b)") }
            let crd = try string("mode", "DCR") == "CRD"
            let r = x.reshaped(crd ? [n, c / (b * b), b, b, h, w] : [n, b, b, c / (b * b), h, w])
            let t = r.transposed(crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2])
            return t.reshaped([n, c / (b * b), h * b, w * b])
        }
        guard h % b == 0, w % b == 0 else { throw fail("spatial size \(h)×\(w) not divisible by blocksize \(b)") }
        let crd = try string("mode", "DCR") == "CRD"
        let r = x.reshaped([n, c, h / b, b, w / b, b]).transposed(crd ? [0, 1, 3, 5, 2, 4] : [0, 3, 5, 1, 2, 4])
        return r.reshaped([n, c * b * b, h / b, w / b])
    }

    func eyeLikeOp() throws -> Tensor {
        let x = try input(0)
        let dims = try knownDims(x, "EyeLike")
        guard dims.count == 2, dims[0] * dims[1] <= 1 << 24 else { throw fail("EyeLike needs a known 2-D input, got \(x.shape)") }
        let k = try int("k", 0)
        let dtype = try attr("dtype").map { try ONNXTensor.dtype(ofCode: Int32(truncatingIfNeeded: $0.i), what: "dtype") } ?? x.dtype
        var v = [Double](repeating: 0, count: dims[0] * dims[1])
        for i in 0..<dims[0] where i + k >= 0 && i + k < dims[1] { v[i * dims[1] + i + k] = 1 }
        return g.constant(try HostTensor(v, shape: dims).converted(to: dtype))
    }

    func groupNormOp() throws -> Tensor {
        let x = try input(0), scale = try input(1), bias = try input(2)
        let groups = try int("num_groups", 0)
        guard x.rank >= 3, let c = x.shape.dims[1], groups > 0, c % groups == 0 else {
            throw fail("needs (N, C, …) with known C divisible by num_groups \(groups), got \(x.shape)")
        }
        let rest = x.shape.dims.dropFirst(2)
        guard rest.allSatisfy({ $0 != nil }) else { throw fail("needs known spatial dimensions, got \(x.shape)") }
        let eps = try float("epsilon", 1e-5)
        let n = x.shape.dims[0] ?? -1
        let grouped = x.reshaped([n, groups, -1])
        let mean = grouped.mean(axes: [2], keepDims: true)
        let cen = grouped - mean
        let normed = cen * rsqrt((cen * cen).mean(axes: [2], keepDims: true) + eps)
        let cs = channelShape(rank: x.rank)
        if scale.shape.dims.first == .some(groups), groups != c {
            // Opset 18: one scale and bias per group.
            let y = normed * scale.reshaped([1, groups, 1]) + bias.reshaped([1, groups, 1])
            return y.reshaped(x.shape.dims.map { $0 ?? -1 })
        }
        return normed.reshaped(x.shape.dims.map { $0 ?? -1 }) * scale.reshaped(cs) + bias.reshaped(cs)
    }

    func gatherElementsOp() throws -> Tensor {
        var data = try input(0)
        var idx = try input(1)
        guard data.rank == idx.rank, data.rank >= 1 else { throw fail("data and indices need the same rank, got \(data.shape) and \(idx.shape)") }
        let a = try axis(try int("axis", 0), rank: data.rank)
        guard let n = data.shape.dims[a] else { throw fail("GatherElements needs a known length on axis \(a)") }
        let dtype = data.dtype
        if !dtype.isFloatingPoint { data = data.cast(to: .float64) }
        // Other axes: indices may be shorter than data; slice data to match.
        var end: [Int?] = []
        for i in 0..<data.rank {
            if i == a { end.append(nil); continue }
            guard let di = idx.shape.dims[i] else { throw fail("GatherElements needs known index dimensions, got \(idx.shape)") }
            end.append(di)
        }
        data = data.slice(begin: Array(repeating: 0, count: data.rank), end: end)
        idx = `where`(idx .< scalar(0, idx.dtype), idx + scalar(Double(n), idx.dtype), idx)
        var perm = Array(0..<data.rank)
        perm.remove(at: a)
        perm.append(a)
        var inv = [Int](repeating: 0, count: data.rank)
        for (i, p) in perm.enumerated() { inv[p] = i }
        let d = data.transposed(perm).expandingDims(axis: data.rank - 1)      // [..., 1, n]
        let hot = oneHot(idx.transposed(perm), depth: n, dtype: data.dtype)      // [..., m, n]
        var y = (hot * d).sum(axes: [data.rank]).transposed(inv)
        if !dtype.isFloatingPoint { y = y.map(.round).cast(to: dtype) }
        return try checkResult(y)
    }

    /// Cast (and CastLike) to the ONNX type `code`. Narrow types are emulated: the value is
    /// converted to the wide dtype and rounded or wrapped to the narrow type's values
    /// (``NarrowFormat``), rounding once, from the source's own precision.
    func castOp(to code: Int32) throws -> Tensor {
        let x = try input(0)
        let to = try ONNXTensor.dtype(ofCode: code, what: "Cast target")
        outputElemType = code
        guard let kind = ONNXTensor.narrowKind(ofCode: code) else { return x.cast(to: to) }
        var format = NarrowFormat(kind, saturate: kind.isFloatingPoint && kind != .float16 && kind != .bfloat16)
        if kind.isFloatingPoint, kind != .float16, kind != .bfloat16 { format.saturate = try int("saturate", 1) != 0 }
        if kind == .float8E8M0 {
            switch try string("round_mode", "up") {
            case "up": format.rounding = .up
            case "nearest": format.rounding = .nearest
            case "down": format.rounding = .down
            case let m: throw fail("round_mode '\(m)' is not one of up, nearest, down")
            }
        }
        if kind.isFloatingPoint {
            // Round from the source's precision (integers via float64), then convert exactly.
            let wide = x.dtype.isFloatingPoint ? x : x.cast(to: .float64)
            return wide.narrow(to: format).cast(to: to)
        }
        return x.cast(to: to).narrow(to: format)
    }
}

extension NodeContext {
    /// BitwiseAnd/Or/Xor/Not and BitShift on integers; results wrap to the ONNX type of the first
    /// input when it is narrower than the IR's (uint8 ≪ 4 keeps 8 bits).
    func bitwiseOp(_ op: String) throws -> Tensor {
        let a = try input(0)
        guard a.dtype.isInteger else { throw fail("\(op) needs integer inputs, got \(a.dtype)") }
        var y: Tensor
        switch op {
        case "BitwiseNot": y = bitwiseNot(a)
        case "BitShift":
            let direction = try string("direction", "")
            guard direction == "LEFT" || direction == "RIGHT" else { throw fail("direction must be LEFT or RIGHT, got '\(direction)'") }
            let b = try input(1)
            let signed = [3, 5, 6, 7, 22, 26].contains(elemType(0) ?? ONNXTensor.code(of: a.dtype))
            if direction == "LEFT" {
                y = shiftLeft(a, b)
            } else if signed {
                // Arithmetic: a negative value is the complement of a non-negative one shifted logically.
                let negative = a .< g.constant(HostTensor(filled: 0, dtype: a.dtype, shape: []))
                y = `where`(negative, bitwiseNot(shiftRight(bitwiseNot(a), b)), shiftRight(a, b))
            } else {
                y = shiftRight(a, b)
            }
        default:
            let b = try input(1)
            y = op == "BitwiseAnd" ? bitwiseAnd(a, b) : (op == "BitwiseOr" ? bitwiseOr(a, b) : bitwiseXor(a, b))
        }
        if let code = elemType(0) {
            outputElemType = code
            if let kind = ONNXTensor.narrowKind(ofCode: code), !kind.isFloatingPoint { y = y.narrow(to: NarrowFormat(kind)) }
        }
        return y
    }
}
