import Graph

// Attention (opset 23+): scaled dot-product attention over [batch, heads, sequence, head size]
// (or 3-D inputs with q_num_heads / kv_num_heads), with a KV cache (past_key/past_value →
// present_key/present_value), boolean or additive masks, causal and sliding-window masks,
// padding lengths, grouped-query heads, softcap and the qk_matmul_output modes — composed from
// matmul, softmax and where, following ONNX's reference.

extension NodeContext {
    func attentionOp() throws -> [Tensor?] {
        var q = try input(0), k = try input(1), v = try input(2)
        guard q.dtype.isFloatingPoint, q.rank == k.rank, k.rank == v.rank, q.rank == 3 || q.rank == 4 else {
            throw fail("needs float Q, K, V of rank 3 or 4, got \(q.dtype)\(q.shape), \(k.shape), \(v.shape)")
        }
        let dtype = q.dtype
        let rank3 = q.rank == 3
        if rank3 {
            guard let qh = try attr("q_num_heads").map({ Int($0.i) }), let kvh = try attr("kv_num_heads").map({ Int($0.i) }), qh > 0, kvh > 0 else {
                throw fail("3-D inputs need the q_num_heads and kv_num_heads attributes")
            }
            func heads(_ t: Tensor, _ n: Int, _ what: String) throws -> Tensor {
                guard let hidden = t.shape.dims[2], hidden % n == 0 else { throw fail("\(what) hidden size \(t.shape) is not divisible by \(n) heads") }
                guard let s = t.shape.dims[1] else { throw fail("\(what) needs a known sequence length, got \(t.shape)") }
                return t.reshaped([-1, s, n, hidden / n]).transposed([0, 2, 1, 3])
            }
            q = try heads(q, qh, "Q"); k = try heads(k, kvh, "K"); v = try heads(v, kvh, "V")
        }
        guard let headSize = q.shape.dims[3] else { throw fail("needs a known head size, got \(q.shape)") }
        let scale = try attr("scale").map { Double($0.f) } ?? 1 / Double(headSize).squareRoot()
        let root = scalar(scale.squareRoot(), dtype)
        // KV cache.
        var presentK = k, presentV = v
        let past = try optInput(4), pastV = try optInput(5)
        guard (past == nil) == (pastV == nil) else { throw fail("past_key and past_value go together") }
        if let pk = past, let pv = pastV {
            guard pk.rank == 4, pv.rank == 4 else { throw fail("past_key and past_value must have rank 4, got \(pk.shape) and \(pv.shape)") }
            presentK = concat([pk, k], axis: 2)
            presentV = concat([pv, v], axis: 2)
        }
        guard q.rank == 4, presentK.rank == 4, presentV.rank == 4 else {
            throw fail("Q, K, V (with the cache) must be [batch, heads, sequence, size], got \(q.shape), \(presentK.shape), \(presentV.shape)")
        }
        guard let qLen = q.shape.dims[2], let kvLen = presentK.shape.dims[2] else {
            throw fail("needs known sequence lengths, got Q \(q.shape) and K \(presentK.shape)")
        }
        let pastLen = past?.shape.dims[2] ?? 0
        // The additive bias [.., q, kv]: mask, causal, sliding window, padding.
        let negInf = scalar(-.infinity, dtype), zero = scalar(0, dtype)
        var bias: Tensor?
        if let m0 = try optInput(3) {
            var m = m0
            if let last = m.shape.dims.last ?? nil, last < kvLen {
                var pads = [(Int, Int)](repeating: (0, 0), count: m.rank)
                pads[m.rank - 1] = (0, kvLen - last)
                m = m.dtype == .bool ? m.cast(to: .int32).padded(pads, value: 0).cast(to: .bool) : m.padded(pads, value: -.infinity)
            }
            bias = m.dtype == .bool ? `where`(m, zero, negInf) : m.cast(to: dtype)
        }
        // Offsets of the query block within the keys: the cache length, or per batch from nonpad_kv_seqlen.
        let nonpad = try optInput(6)
        var offset: Tensor?   // [batch, 1, 1] (per batch) — nil: the scalar pastLen
        if let n = nonpad {
            guard past == nil else { throw fail("nonpad_kv_seqlen cannot be combined with past_key/past_value") }
            offset = (n.cast(to: .int64) - g.constant(HostTensor(scalar: Int64(qLen)))).reshaped([-1, 1, 1])
        }
        // diff[i, j] = i - j (query index minus key index).
        var diffs = [Int64]()
        for i in 0..<qLen { for j in 0..<kvLen { diffs.append(Int64(i - j)) } }
        let diff = g.constant(try HostTensor(diffs, shape: [qLen, kvLen]))
        func allowedBias(_ allowed: Tensor) -> Tensor {
            let b = `where`(allowed, zero, negInf)
            return offset == nil ? b : b.expandingDims(axis: 1)   // [batch, 1, q, kv]
        }
        // j ≤ i + offset  ⇔  (i - j) + offset ≥ 0.
        let shifted: Tensor = offset.map { diff + $0 } ?? (diff + g.constant(HostTensor(scalar: Int64(pastLen))))
        func add(_ t: Tensor) { bias = bias.map { $0 + t } ?? t }
        if try int("is_causal", 0) != 0 {
            add(allowedBias(shifted .>= g.constant(HostTensor(scalar: Int64(0)))))
        }
        let left = try int("left_window_size", -1), right = try int("right_window_size", -1)
        if left >= 0 || right >= 0 {
            var allowed: Tensor?
            if left >= 0 { allowed = shifted .<= g.constant(HostTensor(scalar: Int64(left))) }
            if right >= 0 {
                let r = -shifted .<= g.constant(HostTensor(scalar: Int64(right)))
                allowed = allowed.map { $0 .& r } ?? r
            }
            if let a = allowed { add(allowedBias(a)) }
        }
        if let n = nonpad {
            let positions = g.constant(try HostTensor((0..<kvLen).map { Int64($0) }, shape: [1, kvLen]))
            let inside = positions .< n.cast(to: .int64).reshaped([-1, 1])               // [batch, kv]
            add(`where`(inside, zero, negInf).reshaped([-1, 1, 1, kvLen]))
        }
        // Grouped-query attention: repeat each K/V head over its group of query heads.
        var kk = presentK, vv = presentV
        if let qh = q.shape.dims[1], let kh = kk.shape.dims[1], qh != kh {
            guard kh > 0, qh % kh == 0 else { throw fail("\(qh) query heads are not a multiple of \(kh) key/value heads") }
            let idx = g.constant(HostTensor((0..<qh).map { Int64($0 / (qh / kh)) }))
            kk = kk.gather(idx, axis: 1); vv = vv.gather(idx, axis: 1)
        }
        var qk = (q * root).matmul(kk * root, transposeB: true)                        // [b, h, q, kv]
        if let cap = try attr("softcap").map({ Double($0.f) }), cap > 0 { qk = tanh(qk / cap) * cap }
        let mode = try int("qk_matmul_output_mode", 0)
        var qkOut = qk
        var logits = bias.map { qk + $0 } ?? qk
        if mode == 2 { qkOut = logits }
        let precision = try int("softmax_precision", 0)
        if precision == 11, dtype != .float64 { logits = logits.cast(to: .float64) }
        var probs: Tensor
        if let b = bias {
            // Rows whose every key is masked give zeros (not NaN).
            let masked = b.max(axes: [b.rank - 1], keepDims: true) .== scalar(-.infinity, b.dtype)
            let safe = `where`(masked, scalar(0, logits.dtype), logits)
            probs = `where`(masked, scalar(0, logits.dtype), safe.softmax(axis: -1))
        } else {
            probs = logits.softmax(axis: -1)
        }
        if probs.dtype != dtype { probs = probs.cast(to: dtype) }
        if mode == 3 { qkOut = probs }
        var y = probs.matmul(vv)                                                         // [b, h, q, dv]
        if rank3 {
            guard y.rank == 4, let h = y.shape.dims[1], let dv = y.shape.dims[3] else { throw fail("needs known heads and value size, got \(y.shape)") }
            y = y.transposed([0, 2, 1, 3]).reshaped([-1, qLen, h * dv])
        }
        return [try checkResult(y), presentK, presentV, qkOut]
    }
}
