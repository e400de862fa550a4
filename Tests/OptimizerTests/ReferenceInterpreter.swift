import Foundation
import TestSupport
@testable import Optimizer

/// An independent Float64 reference: scalar loops over row-major arrays, float32 results
/// rounded to Float after every op (so overflow happens where float32 overflows).
struct Arr {
    var dtype: DType
    var shape: [Int]
    var data: [Double]
    var count: Int { data.count }

    init(_ dtype: DType, _ shape: [Int], _ data: [Double]) {
        self.dtype = dtype
        self.shape = shape
        self.data = data.map { Arr.round($0, dtype) }
    }
    init(_ t: HostTensor) { self.init(t.dtype, t.shape, t.doubles) }

    static func round(_ v: Double, _ d: DType) -> Double {
        switch d {
        case .float32: return Double(Float(v))
        case .float64: return v
        case .int32, .int64: return v.isFinite ? v.rounded(.towardZero) : 0
        case .bool: return v != 0 ? 1 : 0
        }
    }

    var host: HostTensor {
        switch dtype {
        case .float32: return (try? HostTensor(data.map { Float($0) }, shape: shape)) ?? HostTensor(zeros: dtype, shape: shape)
        case .float64: return (try? HostTensor(data, shape: shape)) ?? HostTensor(zeros: dtype, shape: shape)
        case .int32: return (try? HostTensor(data.map { Int32($0) }, shape: shape)) ?? HostTensor(zeros: dtype, shape: shape)
        case .int64: return (try? HostTensor(data.map { Int64($0) }, shape: shape)) ?? HostTensor(zeros: dtype, shape: shape)
        case .bool: return (try? HostTensor(data.map { $0 != 0 }, shape: shape)) ?? HostTensor(zeros: dtype, shape: shape)
        }
    }
}

struct RefError: Error, CustomStringConvertible { var description: String }

enum Ref {
    static func strides(_ s: [Int]) -> [Int] {
        var st = [Int](repeating: 1, count: s.count)
        var k = 1
        for i in stride(from: s.count - 1, through: 0, by: -1) { st[i] = k; k *= s[i] }
        return st
    }

    static func broadcastShape(_ shapes: [[Int]]) throws -> [Int] {
        let r = shapes.map(\.count).max() ?? 0
        var out = [Int](repeating: 1, count: r)
        for s in shapes {
            for (k, d) in s.enumerated() {
                let i = r - s.count + k
                if out[i] == 1 { out[i] = d } else if d != 1 && d != out[i] { throw RefError(description: "broadcast \(shapes)") }
            }
        }
        return out
    }

    /// For each flat index of `out`, the flat index of an input of `shape` broadcast to it.
    static func gatherIndex(_ shape: [Int], to out: [Int]) -> [Int] {
        let n = out.reduce(1, *)
        let ist = strides(shape), ost = strides(out)
        let off = out.count - shape.count
        return (0..<n).map { f in
            var idx = 0
            for a in 0..<out.count {
                let c = (f / ost[a]) % out[a]
                if a >= off, shape[a - off] != 1 { idx += c * ist[a - off] }
            }
            return idx
        }
    }

    static func unary(_ f: UnaryFunction, _ x: Double) -> Double {
        switch f {
        case .neg: return -x
        case .abs: return Swift.abs(x)
        case .sign: return x > 0 ? 1 : (x < 0 ? -1 : x)
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .log1p: return Foundation.log1p(x)
        case .expm1: return Foundation.expm1(x)
        case .sqrt: return x.squareRoot()
        case .rsqrt: return 1 / x.squareRoot()
        case .square: return x * x
        case .reciprocal: return 1 / x
        case .sin: return Foundation.sin(x)
        case .cos: return Foundation.cos(x)
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .relu: return x > 0 ? x : 0
        case .leakyRelu(let a): return x > 0 ? x : a * x
        case .elu(let a): return x > 0 ? x : a * (Foundation.exp(x) - 1)
        case .softplus: return Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x)))
        case .erf: return Foundation.erf(x)
        case .gelu: return 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
        case .floor: return x.rounded(.down)
        case .ceil: return x.rounded(.up)
        case .round: return x.rounded(.toNearestOrEven)
        case .bitwiseNot: return Double(~Int64(x))
        case .logicalNot: return x != 0 ? 0 : 1
        case .narrow(let f):
            // Swift's own Float16 conversion for float16; other formats are checked in NarrowFormatTests.
            return f.kind == .float16 ? Double(Float16(x)) : .nan
        }
    }

    static func binary(_ f: BinaryFunction, _ a: Double, _ b: Double, _ dt: DType) -> Double {
        switch f {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return dt.isInteger ? (b == 0 ? 0 : (a / b).rounded(.towardZero)) : a / b
        case .pow: return Foundation.pow(a, b)
        case .maximum: return a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
        case .minimum: return a.isNaN || b.isNaN ? .nan : Swift.min(a, b)
        case .equal: return a == b ? 1 : 0
        case .notEqual: return a != b ? 1 : 0
        case .less: return a < b ? 1 : 0
        case .lessEqual: return a <= b ? 1 : 0
        case .greater: return a > b ? 1 : 0
        case .greaterEqual: return a >= b ? 1 : 0
        case .logicalAnd: return a != 0 && b != 0 ? 1 : 0
        case .logicalOr: return a != 0 || b != 0 ? 1 : 0
        case .bitwiseAnd: return Double(Int64(a) & Int64(b))
        case .bitwiseOr: return Double(Int64(a) | Int64(b))
        case .bitwiseXor: return Double(Int64(a) ^ Int64(b))
        case .shiftLeft, .shiftRight:
            return Double(ReferenceBits.shift(Int64(a), Int64(b), left: f == .shiftLeft, width: dt == .int32 ? 32 : 64))
        }
    }

    static func elementwise(_ ins: [Arr], dtype: DType, _ f: ([Double]) -> Double) throws -> Arr {
        let out = try broadcastShape(ins.map(\.shape))
        let idx = ins.map { gatherIndex($0.shape, to: out) }
        let n = out.reduce(1, *)
        var data = [Double](repeating: 0, count: n)
        var args = [Double](repeating: 0, count: ins.count)
        for e in 0..<n {
            for k in 0..<ins.count { args[k] = ins[k].data[idx[k][e]] }
            data[e] = f(args)
        }
        return Arr(dtype, out, data)
    }

    static func fused(_ p: FusedProgram, _ args: [Double]) -> Double {
        var r = [Double](repeating: 0, count: p.steps.count)
        for (k, s) in p.steps.enumerated() {
            let v: Double
            switch s {
            case .input(let i): v = args[i]
            case .constant(let c): v = c
            case .unary(let f, let a): v = unary(f, r[a])
            case .binary(let f, let a, let b): v = binary(f, r[a], r[b], p.dtypes[a])
            case .select(let c, let a, let b): v = r[c] != 0 ? r[a] : r[b]
            case .cast(_, let a): v = r[a]
            }
            r[k] = Arr.round(v, p.dtypes[k])
        }
        return r.last ?? 0
    }

    static func reduce(_ f: ReduceFunction, _ x: Arr, axes: [Int], keep: Bool) -> Arr {
        let outFull = x.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let n = outFull.reduce(1, *)
        var groups = [[Double]](repeating: [], count: n)
        let ost = strides(outFull), ist = strides(x.shape)
        for e in 0..<x.count {
            var o = 0
            for a in 0..<x.shape.count where !axes.contains(a) { o += ((e / ist[a]) % x.shape[a]) * ost[a] }
            groups[o].append(x.data[e])
        }
        let data = groups.map { g -> Double in
            switch f {
            case .sum: return g.reduce(0, +)
            case .mean: return g.reduce(0, +) / Double(g.count)
            case .max: return g.reduce(-Double.infinity) { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
            case .min: return g.reduce(Double.infinity) { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
            case .prod: return g.reduce(1, *)
            case .logsumexp:
                let m = g.reduce(-Double.infinity) { Swift.max($0, $1) }
                if !m.isFinite { return Foundation.log(g.reduce(0) { $0 + Foundation.exp($1) }) }
                return m + Foundation.log(g.reduce(0) { $0 + Foundation.exp($1 - m) })
            }
        }
        let shape = keep ? outFull : x.shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        return Arr(x.dtype, shape, data)
    }

    static func matmul(_ a: Arr, _ b: Arr, _ ta: Bool, _ tb: Bool) throws -> Arr {
        guard a.shape.count == 2, b.shape.count == 2 else { throw RefError(description: "matmul rank") }
        let (m, k) = ta ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (k2, n) = tb ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard k == k2 else { throw RefError(description: "matmul inner") }
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let av = ta ? a.data[p * a.shape[1] + i] : a.data[i * a.shape[1] + p]
                let bv = tb ? b.data[j * b.shape[1] + p] : b.data[p * b.shape[1] + j]
                s += av * bv
            }
            out[i * n + j] = s
        } }
        return Arr(a.dtype, [m, n], out)
    }

    /// Applies `f` to each 1-D lane along `axis`.
    static func lanes(_ x: Arr, axis: Int, _ f: ([Double]) -> [Double]) -> Arr {
        let len = x.shape[axis]
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        let outer = x.count / Swift.max(len * inner, 1)
        var data = x.data
        for o in 0..<outer { for i in 0..<inner {
            let idx = (0..<len).map { o * len * inner + $0 * inner + i }
            let r = f(idx.map { x.data[$0] })
            for (k, j) in idx.enumerated() { data[j] = r[k] }
        } }
        return Arr(x.dtype, x.shape, data)
    }

    static func logSoftmax(_ v: [Double]) -> [Double] {
        let m = v.max() ?? 0
        let l = Foundation.log(v.reduce(0) { $0 + Foundation.exp($1 - m) })
        return v.map { $0 - m - l }
    }

    static func transpose(_ x: Arr, _ perm: [Int]) -> Arr {
        let out = perm.map { x.shape[$0] }
        let ist = strides(x.shape), ost = strides(out)
        var data = [Double](repeating: 0, count: x.count)
        for e in 0..<x.count {
            var src = 0
            for a in 0..<out.count { src += ((e / ost[a]) % out[a]) * ist[perm[a]] }
            data[e] = x.data[src]
        }
        return Arr(x.dtype, out, data)
    }

    /// Evaluates one op.
    static func apply(_ op: Op, _ x: [Arr], type: TypeInfo?) throws -> Arr {
        switch op {
        case .constant(let t): return Arr(t)
        case .placeholder: throw RefError(description: "placeholder needs a feed")
        case .variable(let i, let seed):
            guard let t = type, let s = t.shape.known else { throw RefError(description: "variable type") }
            return Arr(DeterministicRandom.initialTensor(i, shape: s, dtype: t.dtype, seed: seed))
        case .unary(let f): return try elementwise(x, dtype: x[0].dtype) { unary(f, $0[0]) }
        case .binary(let f):
            let dt: DType = f.isComparison || f.isLogical ? .bool : x[0].dtype
            return try elementwise(x, dtype: dt) { binary(f, $0[0], $0[1], x[0].dtype) }
        case .select: return try elementwise(x, dtype: x[1].dtype) { $0[0] != 0 ? $0[1] : $0[2] }
        case .cast(let d): return Arr(d, x[0].shape, x[0].data)
        case .identity, .stopGradient: return x[0]
        case .matmul(let ta, let tb): return try matmul(x[0], x[1], ta, tb)
        case .reduce(let f, let axes, let keep): return reduce(f, x[0], axes: axes, keep: keep)
        case .reshape(let s):
            let known = s.filter { $0 != -1 }.reduce(1, *)
            return Arr(x[0].dtype, s.map { $0 == -1 ? x[0].count / Swift.max(known, 1) : $0 }, x[0].data)
        case .transpose(let p): return transpose(x[0], p)
        case .broadcastTo(let s):
            let idx = gatherIndex(x[0].shape, to: s)
            return Arr(x[0].dtype, s, idx.map { x[0].data[$0] })
        case .expandDims(let a):
            var s = x[0].shape; s.insert(1, at: a)
            return Arr(x[0].dtype, s, x[0].data)
        case .squeeze(let axes):
            return Arr(x[0].dtype, x[0].shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element), x[0].data)
        case .softmax(let a):
            return lanes(x[0], axis: a) { logSoftmax($0).map { Foundation.exp($0) } }
        case .logSoftmax(let a): return lanes(x[0], axis: a, logSoftmax)
        case .oneHot(let depth, let dt):
            var data = [Double](repeating: 0, count: x[0].count * depth)
            for (i, l) in x[0].data.enumerated() where l >= 0 && Int(l) < depth { data[i * depth + Int(l)] = 1 }
            return Arr(dt, x[0].shape + [depth], data)
        case .softmaxCrossEntropy:
            let c = x[0].shape.last ?? 1
            let rows = x[0].count / c
            let data = (0..<rows).map { r -> Double in
                let ls = logSoftmax(Array(x[0].data[(r * c)..<((r + 1) * c)]))
                return -ls[Int(x[1].data[r])]
            }
            return Arr(x[0].dtype, Array(x[0].shape.dropLast()), data)
        case .broadcastLike:
            let idx = gatherIndex(x[0].shape, to: x[1].shape)
            return Arr(x[0].dtype, x[1].shape, idx.map { x[0].data[$0] })
        case .sumLike:
            let off = x[0].shape.count - x[1].shape.count
            var axes = Array(0..<off)
            for (k, d) in x[1].shape.enumerated() where d == 1 && x[0].shape[off + k] != 1 { axes.append(off + k) }
            let r = reduce(.sum, x[0], axes: axes, keep: true)
            return Arr(r.dtype, x[1].shape, r.data)
        case .reshapeLike: return Arr(x[0].dtype, x[1].shape, x[0].data)
        case .fused(let p): return try elementwise(x, dtype: p.resultDType) { fused(p, $0) }
        case .linear(let ta, let tb, let act):
            let mm = try matmul(x[0], x[1], ta, tb)
            return try elementwise([mm, x[2]], dtype: mm.dtype) { a in
                let z = Arr.round(a[0] + a[1], mm.dtype)
                return act.map { unary($0, z) } ?? z
            }
        case .fusedReduce(let f, let axes, let keep, let p):
            let y = try elementwise(x, dtype: p.resultDType) { fused(p, $0) }
            return reduce(f, y, axes: axes, keep: keep)
        case .assign(let m):
            switch m {
            case .assign: return try elementwise([x[1], x[0]], dtype: x[0].dtype) { $0[0] }
            case .add: return try elementwise(x, dtype: x[0].dtype) { $0[0] + $0[1] }
            case .sub: return try elementwise(x, dtype: x[0].dtype) { $0[0] - $0[1] }
            }
        case .assignMatMul(let ta, let tb, let alpha):
            let mm = try matmul(x[1], x[2], ta, tb)
            guard mm.shape == x[0].shape else { throw RefError(description: "assignMatMul shape") }
            return try elementwise([x[0], mm], dtype: x[0].dtype) { $0[0] + alpha * $0[1] }
        case .group: return Arr(.float32, [], [0])
        default: throw RefError(description: "reference interpreter lacks \(op.name)")
        }
    }

    /// Every instruction's value; placeholders are fed by name. Assigns give the new value but
    /// do not change the variable (each run starts from the initial values).
    static func run(_ p: Program, feeds: [String: HostTensor]) throws -> [Arr] {
        var vals: [Arr] = []
        vals.reserveCapacity(p.count)
        for ins in p.instructions {
            if case .placeholder = ins.op {
                guard let f = feeds[ins.name] else { throw RefError(description: "no feed for \(ins.name)") }
                vals.append(Arr(f))
                continue
            }
            vals.append(try apply(ins.op, ins.inputs.map { vals[$0] }, type: TypeInfo(ins.dtype, ins.shape)))
        }
        return vals
    }

    /// The program's outputs.
    static func outputs(_ p: Program, feeds: [String: HostTensor]) throws -> [Arr] {
        let v = try run(p, feeds: feeds)
        return p.outputs.map { v[$0] }
    }
}

/// A ConstantEvaluator backed by the reference interpreter (for folding in tests).
struct ReferenceEvaluator: ConstantEvaluator {
    func evaluate(_ op: Op, inputs: [HostTensor]) throws -> HostTensor {
        try Ref.apply(op, inputs.map(Arr.init), type: nil).host
    }
}
