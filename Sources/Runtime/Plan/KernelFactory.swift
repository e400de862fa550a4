// The kernel table: one case per op of the IR. Everything that depends only on shapes is
// computed here, once per plan; the closures do only the work.

enum KernelFactory {
    /// A slice as a strided view of a contiguous tensor of `shape`: the element offset of its
    /// first element, the element strides of its axes, and its length on each axis.
    static func sliceView(_ spec: SliceSpec, of shape: [Int]) -> (offset: Int, strides: [Int], counts: [Int]) {
        let st = Strides.contiguous(shape)
        var off = 0, strides = st, counts = shape
        for i in shape.indices {
            let (start, n) = spec.resolve(axis: i, length: shape[i])
            let step = i < spec.stride.count ? spec.stride[i] : 1
            if n > 0 { off += start * st[i] }
            strides[i] = st[i] * step
            counts[i] = n
        }
        return (off, strides, counts)
    }

    struct Made {
        var kernel: Kernel?
        var scratchBytes: Int = 0
    }

    /// NumPy broadcast of concrete shapes (the caller has checked they broadcast).
    static func broadcastShapes(_ shapes: [[Int]]) -> [Int] {
        let r = shapes.map(\.count).max() ?? 0
        return (0..<r).map { i -> Int in
            let dims = shapes.map { s -> Int in i < r - s.count ? 1 : s[i - (r - s.count)] }
            return dims.contains(0) ? 0 : (dims.max() ?? 1)
        }
    }

    /// Dispatches on a floating-point dtype.
    static func float(_ d: DType, _ fail: (String) -> GraphError, _ f32: () -> Kernel, _ f64: () -> Kernel) throws -> Kernel {
        switch d {
        case .float32: return f32()
        case .float64: return f64()
        default: throw fail("no kernel for dtype \(d) (needs float32 or float64)")
        }
    }

    // swiftlint:disable:next function_body_length cyclomatic_complexity
    static func make(_ op: Op, inputs a: [Int], output o: Int, dtypes: [DType], shapes: [[Int]], origin: Int,
                     fail: (String) -> GraphError) throws -> Made {
        let outShape = shapes[o], outType = dtypes[o]
        let outCount = Strides.product(outShape)
        let es = outType.byteSize
        func inShape(_ k: Int) -> [Int] { shapes[a[k]] }
        func inType(_ k: Int) -> DType { dtypes[a[k]] }
        /// Checks a gradient input has the shape the forward op would give.
        func expect(_ forward: Op, _ ins: [Int], equals expected: [Int], what: String) throws {
            switch forward.infer(inputs: ins.map { (dtypes[$0], Shape(known: shapes[$0])) }) {
            case .success(let r) where r.shape.known == expected: return
            case .success(let r): throw fail("\(what) has shape \(expected), the forward op gives \(r.shape)")
            case .failure(let p): throw fail(p.message)
            }
        }

        switch op {
        case .placeholder, .variable, .constant, .group:
            return Made(kernel: nil)

        case .identity, .stopGradient, .reshape, .reshapeLike, .squeeze, .expandDims:
            let x = a[0], n = outCount * es
            return Made(kernel: { p, _, _ in if p[o] != p[x] { p[o].copyMemory(from: p[x], byteCount: n) } })

        // MARK: Elementwise (ElementwiseKernels)
        case .unary(let f):
            let x = a[0], d = inType(0)
            return Made(kernel: { p, _, _ in ElementwiseKernels.unary(f, dtype: d, input: p[x], output: p[o], count: outCount) })
        case .binary(let f):
            let x = a[0], y = a[1], d = inType(0), xs = inShape(0), ys = inShape(1)
            return Made(kernel: { p, _, _ in
                ElementwiseKernels.binary(f, dtype: d, a: p[x], aShape: xs, b: p[y], bShape: ys, output: p[o], outShape: outShape)
            })
        case .select:
            let c = a[0], x = a[1], y = a[2], cs = inShape(0), xs = inShape(1), ys = inShape(2)
            return Made(kernel: { p, _, _ in
                ElementwiseKernels.select(condition: p[c], conditionShape: cs, a: p[x], aShape: xs, b: p[y], bShape: ys,
                                          dtype: outType, output: p[o], outShape: outShape)
            })
        case .cast(let to):
            let x = a[0], from = inType(0)
            return Made(kernel: { p, _, _ in ElementwiseKernels.cast(from: from, to: to, input: p[x], output: p[o], count: outCount) })
        case .fused(let program):
            let ins = a.map { ($0, shapes[$0]) }
            return Made(kernel: { p, _, _ in
                ElementwiseKernels.fused(program, inputs: ins.map { (pointer: UnsafeRawPointer(p[$0.0]), shape: $0.1) },
                                         output: p[o], outShape: outShape)
            })
        case .fusedReduce(let f, let axes, _, let program):
            let ins = a.map { ($0, shapes[$0]) }
            let full = broadcastShapes(a.map { shapes[$0] })
            return Made(kernel: { p, _, _ in
                ElementwiseKernels.fusedReduce(f, axes: axes, program: program,
                                               inputs: ins.map { (pointer: UnsafeRawPointer(p[$0.0]), shape: $0.1) },
                                               output: p[o], inShape: full)
            })

        // MARK: Linear algebra
        case .matmul(let ta, let tb):
            let x = a[0], y = a[1], xs = inShape(0), ys = inShape(1)
            return Made(kernel: try float(outType, fail, {
                { p, _, _ in MatMulKernels.matmul(Float.self, a: p[x], aShape: xs, transposeA: ta, b: p[y], bShape: ys, transposeB: tb, out: p[o], outShape: outShape) }
            }, {
                { p, _, _ in MatMulKernels.matmul(Double.self, a: p[x], aShape: xs, transposeA: ta, b: p[y], bShape: ys, transposeB: tb, out: p[o], outShape: outShape) }
            }))
        case .linear(let ta, let tb, let act):
            let x = a[0], y = a[1], bias = a[2], xs = inShape(0), ys = inShape(1), bs = inShape(2)
            let d = outType
            guard bs.count <= outShape.count, broadcastShapes([outShape, bs]) == outShape else {
                throw fail("bias of shape \(bs) does not broadcast to the product's shape \(outShape)")
            }
            return Made(kernel: try float(outType, fail, {
                { p, _, _ in MatMulKernels.linear(Float.self, dtype: d, a: p[x], aShape: xs, transposeA: ta, b: p[y], bShape: ys, transposeB: tb,
                                                  bias: p[bias], biasShape: bs, activation: act, out: p[o], outShape: outShape) }
            }, {
                { p, _, _ in MatMulKernels.linear(Double.self, dtype: d, a: p[x], aShape: xs, transposeA: ta, b: p[y], bShape: ys, transposeB: tb,
                                                  bias: p[bias], biasShape: bs, activation: act, out: p[o], outShape: outShape) }
            }))

        case .assignMatMul(let ta, let tb, let alpha):
            let v = a[0], x = a[1], y = a[2], vs = inShape(0), xs = inShape(1), ys = inShape(2)
            guard vs.count == 2, xs.count == 2, ys.count == 2 else { throw fail("assignMatMul needs rank-2 operands") }
            let m = ta ? xs[1] : xs[0], k = ta ? xs[0] : xs[1], kb = tb ? ys[1] : ys[0], n = tb ? ys[0] : ys[1]
            guard k == kb, [m, n] == vs else {
                throw fail("the product \(xs)\(ta ? "ᵀ" : "") × \(ys)\(tb ? "ᵀ" : "") does not fit the variable's shape \(vs)")
            }
            return Made(kernel: try float(outType, fail, {
                { p, _, _ in MatMulKernels.assignMatMul(Float.self, v: p[v], m: m, n: n, k: k, alpha: alpha, a: p[x], transposeA: ta, b: p[y], transposeB: tb) }
            }, {
                { p, _, _ in MatMulKernels.assignMatMul(Double.self, v: p[v], m: m, n: n, k: k, alpha: alpha, a: p[x], transposeA: ta, b: p[y], transposeB: tb) }
            }))

        // MARK: Reductions
        case .reduce(let f, let axes, _):
            return reduce(f, x: a[0], shape: inShape(0), axes: axes, dtype: inType(0), o: o)
        case .sumLike:
            let xs = inShape(0)
            let pad = xs.count - outShape.count
            guard pad >= 0 else { throw fail("cannot sum \(xs) down to \(outShape)") }
            var axes: [Int] = []
            for i in 0..<xs.count {
                let l = i < pad ? 1 : outShape[i - pad]
                if l == xs[i] { continue }
                guard l == 1 else { throw fail("cannot sum \(xs) down to \(outShape)") }
                axes.append(i)
            }
            return reduce(.sum, x: a[0], shape: xs, axes: axes, dtype: inType(0), o: o)
        case .argReduce(let f, let axis, _):
            let xs = inShape(0), x = a[0], d = inType(0)
            let O = Strides.product(xs[..<axis]), R = xs[axis], I = Strides.product(xs[(axis + 1)...])
            if R == 0 && O * I > 0 { throw fail("\(f) over axis \(axis) of length 0 has no answer") }
            return Made(kernel: { p, _, _ in ReduceKernels.argReduce(f, dtype: d, x: p[x], outer: O, reduced: R, inner: I, out: p[o]) })
        case .softmax(let axis), .logSoftmax(let axis):
            var isLog = false
            if case .logSoftmax = op { isLog = true }
            let xs = inShape(0), x = a[0]
            let O = Strides.product(xs[..<axis]), R = xs[axis], I = Strides.product(xs[(axis + 1)...])
            return Made(kernel: try float(outType, fail, {
                { p, _, _ in ReduceKernels.softmax(Float.self, log: isLog, x: p[x], outer: O, reduced: R, inner: I, out: p[o]) }
            }, {
                { p, _, _ in ReduceKernels.softmax(Double.self, log: isLog, x: p[x], outer: O, reduced: R, inner: I, out: p[o]) }
            }))
        case .softmaxCrossEntropy:
            let x = a[0], y = a[1], xs = inShape(0), ld = inType(1)
            let rows = Strides.product(inShape(1)), C = xs.last ?? 0
            return Made(kernel: try float(outType, fail, {
                ld == .int32
                    ? { p, _, _ in try ReduceKernels.softmaxCrossEntropy(Float.self, Int32.self, logits: p[x], labels: p[y], rows: rows, classes: C, out: p[o]) }
                    : { p, _, _ in try ReduceKernels.softmaxCrossEntropy(Float.self, Int64.self, logits: p[x], labels: p[y], rows: rows, classes: C, out: p[o]) }
            }, {
                ld == .int32
                    ? { p, _, _ in try ReduceKernels.softmaxCrossEntropy(Double.self, Int32.self, logits: p[x], labels: p[y], rows: rows, classes: C, out: p[o]) }
                    : { p, _, _ in try ReduceKernels.softmaxCrossEntropy(Double.self, Int64.self, logits: p[x], labels: p[y], rows: rows, classes: C, out: p[o]) }
            }))

        // MARK: Shape ops (by element size, so every dtype works)
        case .transpose(let perm):
            let xs = inShape(0), x = a[0], st = Strides.contiguous(xs)
            let src = perm.map { st[$0] }, dst = Strides.contiguous(outShape)
            return Made(kernel: { p, _, _ in StridedCopy.copy(shape: outShape, src: p[x], srcStrides: src, dst: p[o], dstStrides: dst, elementSize: es) })
        case .broadcastTo, .broadcastLike:
            let xs = inShape(0), x = a[0]
            let src = Strides.broadcast(xs, to: outShape), dst = Strides.contiguous(outShape)
            return Made(kernel: { p, _, _ in StridedCopy.copy(shape: outShape, src: p[x], srcStrides: src, dst: p[o], dstStrides: dst, elementSize: es) })
        case .concat(let axis):
            let dst = Strides.contiguous(outShape)
            var parts: [(Int, [Int], [Int], Int)] = []
            var at = 0
            for k in a.indices {
                let s = inShape(k)
                parts.append((a[k], s, Strides.contiguous(s), at * dst[axis] * es))
                at += s[axis]
            }
            return Made(kernel: { p, _, _ in
                for (v, s, st, off) in parts {
                    StridedCopy.copy(shape: s, src: p[v], srcStrides: st, dst: p[o] + off, dstStrides: dst, elementSize: es)
                }
            })
        case .slice(let spec):
            let x = a[0]
            let (off, src, counts) = sliceView(spec, of: inShape(0))
            guard counts == outShape else { throw fail("slice resolves to \(counts) elements, inference gave \(outShape)") }
            let byteOff = off * es, dst = Strides.contiguous(outShape)
            return Made(kernel: { p, _, _ in
                StridedCopy.copy(shape: outShape, src: p[x] + byteOff, srcStrides: src, dst: p[o], dstStrides: dst, elementSize: es)
            })
        case .sliceBackward(let spec):
            let gs = inShape(0), g = a[0]
            let (off, dst, counts) = sliceView(spec, of: outShape)
            guard counts == gs else { throw fail("gradient shape \(gs) does not match the slice of \(outShape)") }
            let byteOff = off * es, src = Strides.contiguous(gs), d = outType
            return Made(kernel: { p, _, _ in
                StridedCopy.fill(p[o], count: outCount, dtype: d, value: 0)
                StridedCopy.copy(shape: gs, src: p[g], srcStrides: src, dst: p[o] + byteOff, dstStrides: dst, elementSize: es)
            })
        case .gather(let axis):
            let ps = inShape(0), x = a[0], idx = a[1], id = inType(1)
            let O = Strides.product(ps[..<axis]), L = ps[axis], I = Strides.product(ps[(axis + 1)...]), J = Strides.product(inShape(1))
            return Made(kernel: { p, _, _ in
                try IndexKernels.gather(params: p[x], outer: O, length: L, inner: I, elementSize: es, indices: p[idx],
                                        indexDType: id, indexCount: J, out: p[o])
            })
        case .gatherBackward(let axis):
            let g = a[0], idx = a[1], id = inType(1), ps = outShape
            guard axis >= 0, axis < ps.count else { throw fail("axis \(axis) is out of range for rank \(ps.count)") }
            let expected = Array(ps[..<axis]) + inShape(1) + Array(ps[(axis + 1)...])
            guard inShape(0) == expected else { throw fail("gradient shape \(inShape(0)) should be \(expected)") }
            let O = Strides.product(ps[..<axis]), L = ps[axis], I = Strides.product(ps[(axis + 1)...]), J = Strides.product(inShape(1))
            return Made(kernel: try float(outType, fail, {
                { p, _, _ in try IndexKernels.gatherBackward(Float.self, grad: p[g], outer: O, length: L, inner: I, indices: p[idx], indexDType: id, indexCount: J, out: p[o]) }
            }, {
                { p, _, _ in try IndexKernels.gatherBackward(Double.self, grad: p[g], outer: O, length: L, inner: I, indices: p[idx], indexDType: id, indexCount: J, out: p[o]) }
            }))
        case .pad(let widths, let value):
            let xs = inShape(0), x = a[0], dst = Strides.contiguous(outShape)
            let off = zip(widths, dst).reduce(0) { $0 + $1.0.before * $1.1 } * es
            let src = Strides.contiguous(xs), d = outType
            return Made(kernel: { p, _, _ in
                StridedCopy.fill(p[o], count: outCount, dtype: d, value: value)
                StridedCopy.copy(shape: xs, src: p[x], srcStrides: src, dst: p[o] + off, dstStrides: dst, elementSize: es)
            })
        case .tile(let m):
            let xs = inShape(0), x = a[0], st = Strides.contiguous(xs), so = Strides.contiguous(outShape)
            var shape: [Int] = [], src: [Int] = [], dst: [Int] = []
            for i in xs.indices {
                shape += [m[i], xs[i]]
                src += [0, st[i]]
                dst += [xs[i] * so[i], so[i]]
            }
            return Made(kernel: { p, _, _ in StridedCopy.copy(shape: shape, src: p[x], srcStrides: src, dst: p[o], dstStrides: dst, elementSize: es) })
        case .oneHot(let depth, let dtype):
            let x = a[0], id = inType(0), J = Strides.product(inShape(0))
            return Made(kernel: { p, _, _ in IndexKernels.oneHot(indices: p[x], indexDType: id, count: J, depth: depth, dtype: dtype, out: p[o]) })

        // MARK: Convolution and pooling
        case .conv2d(let c):
            let xs = inShape(0), ws = inShape(1), x = a[0], w = a[1], O = ws[0]
            let g = WindowGeometry(input: xs, kernel: (ws[2], ws[3]), strides: c.strides, dilation: (c.dilationH, c.dilationW),
                                   padding: c.padding, output: outShape)
            return Made(kernel: try float(outType, fail, {
                { p, s, _ in ConvKernels.conv2d(Float.self, x: p[x], filter: p[w], outChannels: O, g: g, out: p[o], scratch: s) }
            }, {
                { p, s, _ in ConvKernels.conv2d(Double.self, x: p[x], filter: p[w], outChannels: O, g: g, out: p[o], scratch: s) }
            }), scratchBytes: ConvKernels.conv2dScratch(g, outChannels: O) * es)
        case .conv2dBackwardInput(let c):
            let dy = a[0], w = a[1], ws = inShape(1), xs = outShape, O = ws[0]
            try expect(.conv2d(c), [a[2], w], equals: inShape(0), what: "the output gradient")
            let g = WindowGeometry(input: xs, kernel: (ws[2], ws[3]), strides: c.strides, dilation: (c.dilationH, c.dilationW),
                                   padding: c.padding, output: inShape(0))
            return Made(kernel: try float(outType, fail, {
                { p, s, _ in ConvKernels.conv2dBackwardInput(Float.self, dy: p[dy], filter: p[w], outChannels: O, g: g, out: p[o], scratch: s) }
            }, {
                { p, s, _ in ConvKernels.conv2dBackwardInput(Double.self, dy: p[dy], filter: p[w], outChannels: O, g: g, out: p[o], scratch: s) }
            }), scratchBytes: ConvKernels.backwardScratch(g, outChannels: O) * es)
        case .conv2dBackwardFilter(let c):
            let x = a[0], dy = a[1], xs = inShape(0), ws = outShape, O = ws[0]
            try expect(.conv2d(c), [x, a[2]], equals: inShape(1), what: "the output gradient")
            let g = WindowGeometry(input: xs, kernel: (ws[2], ws[3]), strides: c.strides, dilation: (c.dilationH, c.dilationW),
                                   padding: c.padding, output: inShape(1))
            return Made(kernel: try float(outType, fail, {
                { p, s, _ in ConvKernels.conv2dBackwardFilter(Float.self, x: p[x], dy: p[dy], outChannels: O, g: g, out: p[o], scratch: s) }
            }, {
                { p, s, _ in ConvKernels.conv2dBackwardFilter(Double.self, x: p[x], dy: p[dy], outChannels: O, g: g, out: p[o], scratch: s) }
            }), scratchBytes: ConvKernels.backwardScratch(g, outChannels: O) * es)
        case .maxPool2d(let c), .avgPool2d(let c):
            var isMax = false
            if case .maxPool2d = op { isMax = true }
            let x = a[0]
            let g = WindowGeometry(input: inShape(0), kernel: (c.kernelH, c.kernelW), strides: (c.strideH, c.strideW),
                                   dilation: (1, 1), padding: c.padding, output: outShape)
            return Made(kernel: try float(outType, fail, {
                { p, _, _ in ConvKernels.pool(Float.self, max: isMax, x: p[x], g: g, out: p[o]) }
            }, {
                { p, _, _ in ConvKernels.pool(Double.self, max: isMax, x: p[x], g: g, out: p[o]) }
            }))
        case .maxPool2dBackward(let c):
            let x = a[0], dy = a[1]
            try expect(.maxPool2d(c), [x], equals: inShape(1), what: "the output gradient")
            let g = WindowGeometry(input: inShape(0), kernel: (c.kernelH, c.kernelW), strides: (c.strideH, c.strideW),
                                   dilation: (1, 1), padding: c.padding, output: inShape(1))
            return Made(kernel: try float(outType, fail, {
                { p, _, _ in ConvKernels.maxPoolBackward(Float.self, x: p[x], dy: p[dy], g: g, out: p[o]) }
            }, {
                { p, _, _ in ConvKernels.maxPoolBackward(Double.self, x: p[x], dy: p[dy], g: g, out: p[o]) }
            }))
        case .avgPool2dBackward(let c):
            let dy = a[0], x = a[1]
            try expect(.avgPool2d(c), [x], equals: inShape(0), what: "the output gradient")
            let g = WindowGeometry(input: inShape(1), kernel: (c.kernelH, c.kernelW), strides: (c.strideH, c.strideW),
                                   dilation: (1, 1), padding: c.padding, output: inShape(0))
            return Made(kernel: try float(outType, fail, {
                { p, _, _ in ConvKernels.avgPoolBackward(Float.self, dy: p[dy], g: g, out: p[o]) }
            }, {
                { p, _, _ in ConvKernels.avgPoolBackward(Double.self, dy: p[dy], g: g, out: p[o]) }
            }))

        // MARK: Random and state
        case .random(let dist, let seed, _):
            guard outType == .float32 else { throw fail("random ops produce float32, not \(outType)") }
            let key = UInt64(truncatingIfNeeded: origin)
            return Made(kernel: { p, _, run in
                RandomKernels.fill(dist, seed: seed, key: key, run: run, out: p[o].assumingMemoryBound(to: Float.self), count: outCount)
            })
        case .assign(let mode):
            let v = a[0], x = a[1], vs = inShape(0), xs = inShape(1), d = inType(0)
            let n = Strides.product(vs) * es
            switch mode {
            case .assign:
                if vs == xs {
                    return Made(kernel: { p, _, _ in if p[v] != p[x] { p[v].copyMemory(from: p[x], byteCount: n) } })
                }
                return Made(kernel: { p, _, _ in StridedCopy.broadcast(p[x], shape: xs, to: p[v], outShape: vs, elementSize: es) })
            case .add, .sub:
                let f: BinaryFunction = mode == .add ? .add : .sub
                return Made(kernel: { p, _, _ in
                    ElementwiseKernels.binary(f, dtype: d, a: p[v], aShape: vs, b: p[x], bShape: xs, output: p[v], outShape: vs)
                })
            }
        }
    }

    static func reduce(_ f: ReduceFunction, x: Int, shape: [Int], axes: [Int], dtype: DType, o: Int) -> Made {
        let layout = ReduceLayout(shape: shape, axes: axes)
        let inPlaceSum = layout.sandwich != nil && (f == .sum || f == .mean) && dtype.isFloatingPoint
        let scratch = layout.perm == nil || inPlaceSum ? 0 : Strides.product(shape) * dtype.byteSize
        return Made(kernel: { p, s, _ in
            ReduceKernels.reduce(f, dtype: dtype, x: p[x], shape: shape, layout: layout, out: p[o], scratch: s)
        }, scratchBytes: scratch)
    }
}

/// Counter-based random numbers for `random` ops: element i of run r of node k with seed s is a hash of
/// (i, mix(s, k, r)), so every run draws new numbers and a session's sequence is reproducible.
enum RandomKernels {
    /// The per-run stream seed.
    static func streamSeed(seed: UInt64, key: UInt64, run: UInt64) -> UInt64 {
        let s = UInt64(DeterministicRandom.u32(Int(truncatingIfNeeded: key), seed: seed ^ (seed >> 32)))
        return UInt64(DeterministicRandom.u32(Int(truncatingIfNeeded: run), seed: s &+ 0x5851_F42D))
    }

    static func fill(_ dist: RandomDistribution, seed: UInt64, key: UInt64, run: UInt64, out: UnsafeMutablePointer<Float>, count: Int) {
        let s = streamSeed(seed: seed, key: key, run: run)
        Parallelism.forEachChunk(count, minChunk: 1 << 15) { range in
            switch dist {
            case .uniform(let lo, let hi):
                for j in range { out[j] = Float(lo + (hi - lo) * DeterministicRandom.unit(j, seed: s)) }
            case .normal(let m, let sd):
                for j in range { out[j] = Float(m + sd * DeterministicRandom.normal(j, seed: s)) }
            }
        }
    }
}
