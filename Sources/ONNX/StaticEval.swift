import Graph
import Runtime

/// Import-time evaluation of small computations on known values (shape arithmetic such as
/// `Shape → Gather → Concat → Reshape`), over the IR nodes an ONNX node became.
///
/// Only small tensors (≤ 65,536 elements) and a handful of ops are folded; anything else
/// simply stays unknown at import time (the graph itself always has the real ops).
enum StaticEval {
    static let maxElements = 1 << 16
    /// Inputs plus output elements up to which other ops are evaluated with the runtime's kernels.
    static let maxKernelElements = 1 << 12

    /// Values of the ONNX node's outputs, where they can be computed.
    static func evaluate(_ nc: NodeContext) -> [HostTensor?]? {
        let ctx = nc.ctx
        var result: [HostTensor?] = []
        var any = false
        for name in nc.node.output {
            guard !name.isEmpty, let t = ctx.values[name] else { result.append(nil); continue }
            let v = value(of: t.id, ctx: ctx, depth: 0)
            any = any || v != nil
            result.append(v)
        }
        return any ? result : nil
    }

    /// Whether `dtype`'s elements are handled as integers.
    static func isIntLike(_ d: DType) -> Bool { !d.isFloatingPoint }

    static func value(of id: NodeID, ctx: ImportContext, depth: Int) -> HostTensor? {
        if let v = ctx.irStatics[id] { return v }
        if ctx.irNonStatic.contains(id) || depth > 64 { return nil }
        let node = ctx.g.node(id)
        let v = compute(node, ctx: ctx, depth: depth)
        if let v { ctx.irStatics[id] = v } else { ctx.irNonStatic.insert(id) }
        return v
    }

    static func compute(_ node: Node, ctx: ImportContext, depth: Int) -> HostTensor? {
        if case .constant(let t) = node.op { return t }
        guard !node.isInvalid, let outShape = node.shape.known, outShape.reduce(1, *) <= maxElements else { return nil }
        var ins: [HostTensor] = []
        for i in node.inputs {
            guard let v = value(of: i, ctx: ctx, depth: depth + 1), v.count <= maxElements else { return nil }
            ins.append(v)
        }
        if let v = integerRule(node, ins, outShape) { return v }
        // Anything else (float arithmetic feeding a Loop's trip count, say) with the runtime's
        // kernels, for values small enough that no op can make it slow.
        guard !node.op.hasSideEffects, ins.reduce(outShape.reduce(1, *), { $0 + $1.count }) <= maxKernelElements else { return nil }
        return try? KernelEvaluator().evaluate(node.op, inputs: ins)
    }

    /// Exact integer evaluation of the ops shape arithmetic uses.
    static func integerRule(_ node: Node, _ ins: [HostTensor], _ outShape: [Int]) -> HostTensor? {
        switch node.op {
        case .identity, .stopGradient:
            return ins[0]
        case .cast(let d):
            return ins[0].converted(to: d)
        case .reshape, .squeeze, .expandDims, .reshapeLike:
            return try? ins[0].reshaped(outShape)
        case .unary(let f):
            guard isIntLike(ins[0].dtype) else { return nil }
            let a = ints(ins[0])
            switch f {
            case .neg: return make(a.map { 0 &- $0 }, node.dtype, outShape)
            case .abs: return make(a.map { $0 < 0 ? 0 &- $0 : $0 }, node.dtype, outShape)
            case .sign: return make(a.map { $0.signum() }, node.dtype, outShape)
            case .logicalNot: return make(a.map { $0 == 0 ? 1 : 0 }, node.dtype, outShape)
            default: return nil
            }
        case .binary(let f):
            guard isIntLike(ins[0].dtype), isIntLike(ins[1].dtype) else { return nil }
            let a = broadcast(ins[0], to: outShape), b = broadcast(ins[1], to: outShape)
            var out = [Int64](repeating: 0, count: a.count)
            for i in 0..<a.count {
                let x = a[i], y = b[i]
                switch f {
                case .add: out[i] = x &+ y
                case .sub: out[i] = x &- y
                case .mul: out[i] = x &* y
                case .div:
                    guard y != 0, !(x == .min && y == -1) else { return nil }
                    out[i] = x / y
                case .maximum: out[i] = Swift.max(x, y)
                case .minimum: out[i] = Swift.min(x, y)
                case .equal: out[i] = x == y ? 1 : 0
                case .notEqual: out[i] = x != y ? 1 : 0
                case .less: out[i] = x < y ? 1 : 0
                case .lessEqual: out[i] = x <= y ? 1 : 0
                case .greater: out[i] = x > y ? 1 : 0
                case .greaterEqual: out[i] = x >= y ? 1 : 0
                case .logicalAnd: out[i] = (x != 0 && y != 0) ? 1 : 0
                case .logicalOr: out[i] = (x != 0 || y != 0) ? 1 : 0
                case .pow, .bitwiseAnd, .bitwiseOr, .bitwiseXor, .shiftLeft, .shiftRight: return nil  // the kernels' fallback
                }
            }
            return make(out, node.dtype, outShape)
        case .select:
            guard isIntLike(node.dtype) else { return nil }
            let c = broadcast(ins[0], to: outShape), a = broadcast(ins[1], to: outShape), b = broadcast(ins[2], to: outShape)
            return make((0..<c.count).map { c[$0] != 0 ? a[$0] : b[$0] }, node.dtype, outShape)
        case .broadcastTo, .broadcastLike:
            guard isIntLike(node.dtype) else { return nil }
            return make(broadcast(ins[0], to: outShape), node.dtype, outShape)
        case .concat(let axis):
            guard isIntLike(node.dtype) else { return nil }
            let outer = outShape[..<axis].reduce(1, *), inner = outShape[(axis + 1)...].reduce(1, *)
            var out: [Int64] = []
            out.reserveCapacity(outShape.reduce(1, *))
            let parts = ins.map { ($0.shape[axis] * inner, ints($0)) }
            for o in 0..<outer {
                for (len, data) in parts { out += data[(o * len)..<((o + 1) * len)] }
            }
            return make(out, node.dtype, outShape)
        case .gather(let axis):
            guard isIntLike(node.dtype) else { return nil }
            let p = ins[0], idx = ints(ins[1])
            let n = p.shape[axis]
            let outer = p.shape[..<axis].reduce(1, *), inner = p.shape[(axis + 1)...].reduce(1, *)
            let data = ints(p)
            var out: [Int64] = []
            for o in 0..<outer {
                for k in idx {
                    let j = Int(k < 0 ? k + Int64(n) : k)
                    guard j >= 0, j < n else { return nil }
                    let base = (o * n + j) * inner
                    out += data[base..<(base + inner)]
                }
            }
            return make(out, node.dtype, outShape)
        case .slice(let spec):
            guard isIntLike(node.dtype) else { return nil }
            let x = ins[0], data = ints(x)
            let r = x.shape.count
            let res = (0..<r).map { spec.resolve(axis: $0, length: x.shape[$0]) }
            let steps = (0..<r).map { $0 < spec.stride.count ? spec.stride[$0] : 1 }
            let strides = rowMajorStrides(x.shape)
            var out: [Int64] = []
            forEachIndex(outShape) { idx in
                var off = 0
                for a in 0..<r { off += (res[a].start + idx[a] * steps[a]) * strides[a] }
                out.append(data[off])
            }
            return out.count == outShape.reduce(1, *) ? make(out, node.dtype, outShape) : nil
        case .reduce(let f, let axes, _):
            guard isIntLike(node.dtype), f == .sum || f == .prod || f == .max || f == .min else { return nil }
            let x = ins[0], data = ints(x)
            let keptShape = x.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
            let kStrides = rowMajorStrides(keptShape)
            var out = [Int64?](repeating: nil, count: keptShape.reduce(1, *))
            var flat = 0
            forEachIndex(x.shape) { idx in
                var o = 0
                for a in 0..<idx.count where !axes.contains(a) { o += idx[a] * kStrides[a] }
                let v = data[flat]
                flat += 1
                if let cur = out[o] {
                    switch f {
                    case .sum: out[o] = cur &+ v
                    case .prod: out[o] = cur &* v
                    case .max: out[o] = Swift.max(cur, v)
                    default: out[o] = Swift.min(cur, v)
                    }
                } else { out[o] = v }
            }
            let ident: Int64 = f == .prod ? 1 : 0
            return make(out.map { $0 ?? ident }, node.dtype, outShape)
        default:
            return nil
        }
    }

    static func ints(_ t: HostTensor) -> [Int64] {
        switch t.dtype {
        case .int64: return t.withUnsafeBufferPointer(as: Int64.self) { Array($0) }
        case .int32: return t.withUnsafeBufferPointer(as: Int32.self) { $0.map { Int64($0) } }
        case .bool: return t.withUnsafeBufferPointer(as: Bool.self) { $0.map { $0 ? 1 : 0 } }
        default: return t.doubles.map { Int64(exactly: $0.rounded(.towardZero)) ?? 0 }
        }
    }

    static func make(_ v: [Int64], _ dtype: DType, _ shape: [Int]) -> HostTensor? {
        guard let t = try? HostTensor(v, shape: shape) else { return nil }
        return dtype == .int64 ? t : t.converted(to: dtype)
    }

    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= shape[i] }
        return s
    }

    static func forEachIndex(_ shape: [Int], _ body: ([Int]) -> Void) {
        let n = shape.reduce(1, *)
        guard n > 0 else { return }
        var idx = [Int](repeating: 0, count: shape.count)
        for _ in 0..<n {
            body(idx)
            var a = shape.count - 1
            while a >= 0 {
                idx[a] += 1
                if idx[a] < shape[a] { break }
                idx[a] = 0
                a -= 1
            }
        }
    }

    /// Elements of `t` broadcast (NumPy rules) to `shape`, as Int64.
    static func broadcast(_ t: HostTensor, to shape: [Int]) -> [Int64] {
        let data = ints(t)
        if t.shape == shape { return data }
        let r = shape.count
        let padded = Array(repeating: 1, count: r - t.shape.count) + t.shape
        let st = rowMajorStrides(padded)
        var out: [Int64] = []
        out.reserveCapacity(shape.reduce(1, *))
        forEachIndex(shape) { idx in
            var off = 0
            for a in 0..<r where padded[a] != 1 { off += idx[a] * st[a] }
            out.append(off < data.count ? data[off] : 0)
        }
        return out
    }
}
