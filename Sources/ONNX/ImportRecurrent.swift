import Graph

// RNN, GRU and LSTM, unrolled over the (known) sequence length: the input projection of every
// time step is one matmul, each step then adds the recurrent matmul and applies the cell.
// Forward, reverse and bidirectional; layout 0 and 1; initial states; peepholes; clip;
// custom activations; GRU's linear_before_reset; LSTM's input_forget; sequence_lens equal to
// the sequence length (shorter sequences would need per-sequence masking, a clear error).

extension NodeContext {
    /// A float-list attribute.
    func floats(_ name: String) throws -> [Double]? {
        guard let a = try attr(name) else { return nil }
        return a.floats.map(Double.init)
    }

    /// A string-list attribute.
    func strings(_ name: String) throws -> [String]? {
        guard let a = try attr(name) else { return nil }
        return a.strings.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The activation function named `name` (ONNX's recurrent activation list).
    func recurrentActivation(_ name: String, alpha: Double?, beta: Double?) throws -> (Tensor) -> Tensor {
        switch name.lowercased() {
        case "relu": return { relu($0) }
        case "tanh": return { tanh($0) }
        case "sigmoid": return { sigmoid($0) }
        case "affine": let a = alpha ?? 1, b = beta ?? 0; return { $0 * a + b }
        case "leakyrelu": let a = alpha ?? 0.01; return { $0.map(.leakyRelu(alpha: a)) }
        case "thresholdedrelu": let a = alpha ?? 1; return { x in `where`(x .> self.scalar(a, x.dtype), x, self.scalar(0, x.dtype)) }
        case "scaledtanh": let a = alpha ?? 1, b = beta ?? 1; return { tanh($0 * b) * a }
        case "hardsigmoid":
            let a = alpha ?? 0.2, b = beta ?? 0.5
            return { x in minimum(maximum(x * a + b, self.scalar(0, x.dtype)), self.scalar(1, x.dtype)) }
        case "elu": let a = alpha ?? 1; return { $0.map(.elu(alpha: a)) }
        case "softsign": return { $0 / (abs($0) + 1) }
        case "softplus": return { $0.map(.softplus) }
        default: throw fail("activation '\(name)' is not supported")
        }
    }

    /// Zeros of shape [batch, hidden], the batch taken from `x` ([seq, batch, input]) when unknown.
    func zeroState(batchOf x: Tensor, hidden: Int) -> Tensor {
        if let batch = x.shape.dims[1] { return g.constant(HostTensor(zeros: x.dtype, shape: [batch, hidden])) }
        let column = x.slice(begin: [0, nil, 0], end: [1, nil, 1]).squeezed(axes: [0])   // [batch, 1]
        let zero = scalar(0, x.dtype)
        // `where` rather than a multiplication by 0, which would turn an infinite input into NaN.
        return `where`(column .== column, zero, zero) + g.constant(HostTensor(zeros: x.dtype, shape: [1, hidden]))
    }

    /// RNN (gates 1), GRU (3) or LSTM (4).
    func recurrentOp() throws -> [Tensor?] {
        let op = node.opType
        let gates = op == "LSTM" ? 4 : (op == "GRU" ? 3 : 1)
        let layout = try int("layout", 0)
        var x = try input(0)
        guard x.rank == 3, x.dtype.isFloatingPoint else { throw fail("needs a float input of rank 3, got \(x.dtype)\(x.shape)") }
        if layout != 0 { x = x.transposed([1, 0, 2]) }
        guard let seq = x.shape.dims[0] else { throw fail("needs a known sequence length (SymGraph unrolls recurrences), got \(x.shape)") }
        let w = try input(1), r = try input(2)
        let direction = try string("direction", "forward")
        let dirs = direction == "bidirectional" ? 2 : 1
        // Unrolling makes about 30 nodes per step and direction: keep within the node limit.
        guard seq <= NodeContext.maxUnrolledIterations, seq * dirs * 30 <= limits.maxNodes else {
            throw fail("a sequence of \(seq) steps is too long to unroll (limit: \(limits.maxNodes) nodes)")
        }
        guard ["forward", "reverse", "bidirectional"].contains(direction) else { throw fail("direction '\(direction)' is not one of forward, reverse, bidirectional") }
        guard let hidden = r.shape.dims.last ?? nil, w.rank == 3, r.rank == 3,
              w.shape.dims[0] == dirs, w.shape.dims[1] == gates * hidden, r.shape.dims[1] == gates * hidden else {
            throw fail("W \(w.shape) and R \(r.shape) must be [\(dirs), \(gates) × hidden, …]")
        }
        if let h = try attr("hidden_size").map({ Int($0.i) }), h != hidden {
            throw fail("hidden_size \(h) differs from R's \(hidden)")
        }
        if let lens = staticIfKnown(4) {
            guard intValues(lens).allSatisfy({ $0 == seq }) else {
                throw fail("sequence_lens shorter than the sequence length (\(seq)) are not supported")
            }
        } else if has(4) {
            throw fail("sequence_lens must be known at import time")
        }
        let clip = try attr("clip").map { Double($0.f) }
        let names = try strings("activations") ?? []
        let alphas = try floats("activation_alpha") ?? [], betas = try floats("activation_beta") ?? []
        let perDirection = op == "LSTM" ? 3 : (op == "GRU" ? 2 : 1)
        let defaults = op == "LSTM" ? ["Sigmoid", "Tanh", "Tanh"] : (op == "GRU" ? ["Sigmoid", "Tanh"] : ["Tanh"])
        var yHs: [Tensor] = [], yCs: [Tensor] = [], ys: [Tensor] = []
        for d in 0..<dirs {
            var acts: [(Tensor) -> Tensor] = []
            for k in 0..<perDirection {
                let i = d * perDirection + k
                let name = i < names.count ? names[i] : (names.count == perDirection && d == 1 ? names[k] : defaults[k])
                acts.append(try recurrentActivation(name, alpha: i < alphas.count ? alphas[i] : nil, beta: i < betas.count ? betas[i] : nil))
            }
            let wd = sliceAxis(w, axis: 0, begin: d, end: d + 1).squeezed(axes: [0])   // [G·h, in]
            let rd = sliceAxis(r, axis: 0, begin: d, end: d + 1).squeezed(axes: [0])   // [G·h, h]
            var bw: Tensor?, br: Tensor?
            if let b = try optInput(3) {
                let bd = sliceAxis(b, axis: 0, begin: d, end: d + 1).squeezed(axes: [0])
                bw = sliceAxis(bd, axis: 0, begin: 0, end: gates * hidden)
                br = sliceAxis(bd, axis: 0, begin: gates * hidden, end: 2 * gates * hidden)
            }
            func state(_ i: Int) throws -> Tensor? {
                guard var s = try optInput(i) else { return nil }
                if layout != 0 { s = s.transposed([1, 0, 2]) }
                return sliceAxis(s, axis: 0, begin: d, end: d + 1).squeezed(axes: [0])
            }
            let batchZeros = zeroState(batchOf: x, hidden: hidden)
            var h = try state(5) ?? batchZeros
            var c = op == "LSTM" ? (try state(6) ?? batchZeros) : batchZeros
            var peep: [Tensor]?
            if op == "LSTM", let p = try optInput(7) {
                let pd = sliceAxis(p, axis: 0, begin: d, end: d + 1).squeezed(axes: [0])
                peep = pd.split(count: 3, axis: 0)   // i, o, f
            }
            // All input projections at once: [seq, batch, G·h].
            var xw = x.matmul(wd, transposeB: true)
            if let bw, let br { xw = xw + (bw + br) }
            let reverse = direction == "reverse" || d == 1
            var outs = [Tensor?](repeating: nil, count: seq)
            func clipped(_ t: Tensor) -> Tensor {
                guard let cl = clip else { return t }
                return minimum(maximum(t, scalar(-cl, t.dtype)), scalar(cl, t.dtype))
            }
            // Per-direction pieces the steps share: GRU's recurrent blocks and reset bias, the flags.
            let inputForget = try int("input_forget", 0) != 0, linearBeforeReset = try int("linear_before_reset", 0) != 0
            let blocks = op == "GRU" ? rd.split(count: 3, axis: 0) : []   // z, r, h rows of R
            let rbh = op == "GRU" ? br.map { sliceAxis($0, axis: 0, begin: 2 * hidden, end: 3 * hidden) } : nil
            for step in 0..<seq {
                let t = reverse ? seq - 1 - step : step
                let xt = sliceAxis(xw, axis: 0, begin: t, end: t + 1).squeezed(axes: [0])   // [batch, G·h]
                switch op {
                case "LSTM":
                    let parts = (xt + h.matmul(rd, transposeB: true)).split(count: 4, axis: 1)   // i, o, f, c
                    var iPre = parts[0], fPre = parts[2]
                    if let p = peep { iPre = iPre + p[0] * c; fPre = fPre + p[2] * c }
                    let i = acts[0](clipped(iPre))
                    let f = inputForget ? (1 - i) : acts[0](clipped(fPre))
                    let cand = acts[1](clipped(parts[3]))
                    c = f * c + i * cand
                    var oPre = parts[1]
                    if let p = peep { oPre = oPre + p[1] * c }
                    h = acts[0](clipped(oPre)) * acts[2](c)
                case "GRU":
                    let xs = xt.split(count: 3, axis: 1)   // z, r, h (input part, with Wb and Rb for z and r)
                    let z = acts[0](clipped(xs[0] + h.matmul(blocks[0], transposeB: true)))
                    let rg = acts[0](clipped(xs[1] + h.matmul(blocks[1], transposeB: true)))
                    // xt's h part holds x·Whᵀ + Wbh + Rbh; Rbh sits inside the reset product for linear_before_reset.
                    let cand: Tensor
                    if linearBeforeReset {
                        let inner = h.matmul(blocks[2], transposeB: true)
                        let withBias = rbh.map { inner + $0 } ?? inner
                        let xh = rbh.map { xs[2] - $0 } ?? xs[2]
                        cand = acts[1](clipped(xh + rg * withBias))
                    } else {
                        cand = acts[1](clipped(xs[2] + (rg * h).matmul(blocks[2], transposeB: true)))
                    }
                    h = (1 - z) * cand + z * h
                default:
                    h = acts[0](clipped(xt + h.matmul(rd, transposeB: true)))
                }
                outs[t] = h
            }
            ys.append(concat(outs.compactMap { $0?.expandingDims(axis: 0) }, axis: 0))   // [seq, batch, h]
            yHs.append(h)
            yCs.append(c)
        }
        var y = dirs == 1 ? ys[0].expandingDims(axis: 1) : concat(ys.map { $0.expandingDims(axis: 1) }, axis: 1)   // [seq, dirs, batch, h]
        var yh = concat(yHs.map { $0.expandingDims(axis: 0) }, axis: 0)   // [dirs, batch, h]
        var yc = concat(yCs.map { $0.expandingDims(axis: 0) }, axis: 0)
        if layout != 0 {
            y = y.transposed([2, 0, 1, 3])
            yh = yh.transposed([1, 0, 2])
            yc = yc.transposed([1, 0, 2])
        }
        return op == "LSTM" ? [y, yh, yc] : [y, yh]
    }
}
