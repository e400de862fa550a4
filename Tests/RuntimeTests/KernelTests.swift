// Every non-elementwise kernel against an independent Float64 reference (TestSupport/ReferenceRuntime.swift),
// on several shapes: broadcasting, unknown batch, sizes not multiples of 8/16, one element, zero-size axes.
import XCTest
@testable import Runtime
import TestSupport

final class KernelTests: XCTestCase {
    let floats: [DType] = [.float32, .float64]

    func testMatMul() throws {
        let cases: [([Int], [Int], Bool, Bool)] = [
            ([3, 5], [5, 7], false, false), ([1, 1], [1, 1], false, false), ([17, 9], [13, 9], false, true),
            ([9, 17], [9, 13], true, false), ([6, 4], [5, 6], true, true), ([2, 3, 4], [4, 5], false, false),
            ([2, 3, 4], [2, 4, 5], false, false), ([2, 1, 3, 4], [5, 4, 6], false, false), ([3, 4], [2, 4, 5], false, false),
            ([0, 4], [4, 3], false, false), ([3, 0], [0, 2], false, false), ([2, 4, 3], [2, 5, 4], true, true),
        ]
        for d in floats {
            for (k, (sa, sb, ta, tb)) in cases.enumerated() {
                let a = Reference.data(sa, seed: UInt64(k)), b = Reference.data(sb, seed: UInt64(100 + k))
                try rtCheckOp([RTInput(value: a, dtype: d, unknownBatch: k == 5), RTInput(value: b, dtype: d)],
                              expected: Reference.matmul(a, b, transposeA: ta, transposeB: tb), tol: rtTol(d) * 10, "matmul \(sa)x\(sb)") {
                    $0[0].matmul($0[1], transposeA: ta, transposeB: tb)
                }
            }
        }
    }

    func testLinearKernelDirect() throws {
        // `linear` is made by the optimizer; run its kernel directly through a hand-made program.
        for d in floats {
            for (m, k, n, act) in [(5, 7, 3, UnaryFunction?.none), (17, 9, 33, .relu), (1, 1, 1, .relu), (0, 3, 4, nil)] {
                let a = Reference.data([m, k], seed: 1), b = Reference.data([k, n], seed: 2), bias = Reference.data([n], seed: 3)
                var want = Reference.matmul(a, b)
                for i in 0..<want.count { want.values[i] += bias.values[i % n]; if act == .relu { want.values[i] = Swift.max(0, want.values[i]) } }
                let out = try runProgram(.linear(transposeA: false, transposeB: false, activation: act), [a, b, bias], dtype: d)
                rtAssertClose(out, want, tol: rtTol(d) * 10, "linear \(m)x\(k)x\(n)")
            }
            // Transposed operands and a [m, n] bias.
            let a = Reference.data([4, 6], seed: 5), b = Reference.data([3, 4], seed: 6), bias = Reference.data([6, 3], seed: 7)
            var want = Reference.matmul(a, b, transposeA: true, transposeB: true)
            for i in 0..<want.count { want.values[i] += bias.values[i] }
            let out = try runProgram(.linear(transposeA: true, transposeB: true, activation: nil), [a, b, bias], dtype: d)
            rtAssertClose(out, want, tol: rtTol(d) * 10, "linear tA tB")
        }
    }

    /// Runs one op on constant inputs through a program built by hand (for ops only the optimizer makes).
    func runProgram(_ op: Op, _ inputs: [RefArray], dtype: DType) throws -> HostTensor {
        var ins: [Program.Instruction] = []
        var types: [(DType, Shape)] = []
        for (k, x) in inputs.enumerated() {
            let t = try x.host(dtype)
            ins.append(Program.Instruction(op: .constant(t), inputs: [], dtype: dtype, shape: Shape(known: x.shape), name: "c\(k)", location: .unknown))
            types.append((dtype, Shape(known: x.shape)))
        }
        let info = try op.infer(inputs: types).get()
        ins.append(Program.Instruction(op: op, inputs: Array(0..<inputs.count), dtype: info.dtype, shape: info.shape, name: "op", location: .unknown))
        let program = Program(instructions: ins, outputs: [ins.count - 1])
        let ctx = PlanContext(level: .O2, checkNumerics: false, feeds: [:], variableSlot: { _ in throw GraphError.invalidValue("no variables") })
        let plan = try PlanBuilder.build(program, report: CompileReport(level: .O2), context: ctx)
        return try plan.execute(feeds: [], runIndex: 0, checkNumerics: false)[0]
    }

    func testReductions() throws {
        let shapes: [([Int], [[Int]])] = [
            ([7], [[0]]), ([1], [[0]]), ([3, 5], [[0], [1], [0, 1]]), ([2, 3, 4], [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2]]),
            ([2, 1, 3, 5], [[1], [0, 3], [1, 2]]), ([33, 17], [[0], [1]]), ([0, 4], [[0], [1]]), ([4, 0], [[1]]),
        ]
        for d in floats {
            for f in ReduceFunction.allCases {
                for (k, (shape, axesList)) in shapes.enumerated() {
                    for axes in axesList {
                        let x = Reference.data(shape, seed: UInt64(k * 7 + axes.count))
                        for keep in [false, true] {
                            let want = Reference.reduce(f, x, axes: axes, keepDims: keep)
                            let tol = f == .prod ? 1e-4 : rtTol(d) * 10
                            try rtCheckOp([RTInput(value: x, dtype: d, unknownBatch: k == 3)], expected: want, tol: tol, "\(f) \(shape) \(axes)") {
                                $0[0].reduce(f, axes: axes, keepDims: keep)
                            }
                        }
                    }
                }
            }
        }
        // Integer reductions.
        for d in [DType.int32, .int64] {
            for f in [ReduceFunction.sum, .max, .min, .prod] {
                let x = RefArray((0..<24).map { Double(($0 * 7) % 11 - 5) }, [2, 3, 4])
                for axes in [[0], [2], [0, 2], [0, 1, 2]] {
                    try rtCheckOp([RTInput(value: x, dtype: d)], expected: Reference.reduce(f, x, axes: axes), tol: 0, "\(d) \(f) \(axes)") {
                        $0[0].reduce(f, axes: axes)
                    }
                }
            }
        }
    }

    func testLargeReductionsInParallel() throws {
        let x = Reference.data([300, 257], seed: 9)
        for axes in [[0], [1], [0, 1]] {
            try rtCheckOp([RTInput(value: x)], expected: Reference.reduce(.sum, x, axes: axes), tol: 1e-5, "big sum \(axes)") { $0[0].sum(axes: axes) }
            try rtCheckOp([RTInput(value: x)], expected: Reference.reduce(.max, x, axes: axes), tol: 1e-6, "big max \(axes)") { $0[0].max(axes: axes) }
        }
    }

    func testArgReduce() throws {
        var x = Reference.data([4, 5, 6], seed: 3)
        x.values[7] = x.values[6]  // a tie
        for d in [DType.float32, .float64, .int32, .int64] {
            let xi = d.isInteger ? RefArray(x.values.map { ($0 * 4).rounded(.towardZero) }, x.shape) : x
            for axis in 0..<3 {
                for f in [ArgReduceFunction.argmax, .argmin] {
                    try rtCheckOp([RTInput(value: xi, dtype: d)], expected: Reference.argReduce(f, xi, axis: axis), tol: 0, "\(f) \(axis) \(d)") {
                        f == .argmax ? $0[0].argmax(axis: axis) : $0[0].argmin(axis: axis)
                    }
                }
            }
        }
        // Ties go to the first index.
        let ties = RefArray([1, 3, 3, 0, 0, 2], [2, 3])
        try rtCheckOp([RTInput(value: ties)], expected: RefArray([1, 2], [2]), tol: 0, "ties") { $0[0].argmax(axis: 1) }
        try rtCheckOp([RTInput(value: ties)], expected: RefArray([0, 0], [2]), tol: 0, "ties min") { $0[0].argmin(axis: 1) }
    }

    func testSoftmaxAndLogSoftmax() throws {
        for d in floats {
            for (shape, axis) in [([7], 0), ([3, 10], 1), ([3, 10], 0), ([2, 3, 17], 1), ([1, 1], 1), ([0, 5], 1), ([200, 300], 1)] {
                var x = Reference.data(shape, seed: 4, lo: -5, hi: 5)
                if x.count > 2 { x.values[1] = 80 }  // large logits stay finite
                try rtCheckOp([RTInput(value: x, dtype: d, unknownBatch: true)], expected: Reference.softmax(x, axis: axis), tol: rtTol(d) * 10, "softmax \(shape)") {
                    $0[0].softmax(axis: axis)
                }
                try rtCheckOp([RTInput(value: x, dtype: d)], expected: Reference.softmax(x, axis: axis, log: true), tol: rtTol(d) * 10, "logSoftmax \(shape)") {
                    $0[0].logSoftmax(axis: axis)
                }
            }
        }
    }

    func testSoftmaxCrossEntropy() throws {
        for d in floats {
            for ld in [DType.int32, .int64] {
                for (rows, c) in [(5, 10), (1, 1), (17, 3), (0, 4)] {
                    var x = Reference.data([rows, c], seed: 8, lo: -4, hi: 4)
                    if x.count > 0 { x.values[0] = 100 }
                    let labels = (0..<rows).map { ($0 * 7) % c }
                    let want = RefArray(Reference.softmaxCrossEntropy(x, labels: labels), [rows])
                    try rtCheckOp([RTInput(value: x, dtype: d, unknownBatch: true), RTInput(value: RefArray(labels.map(Double.init), [rows]), dtype: ld, unknownBatch: true)],
                                  expected: want, tol: rtTol(d) * 10, "sce \(rows)x\(c)") {
                        softmaxCrossEntropy(logits: $0[0], labels: $0[1])
                    }
                }
            }
        }
    }

    func testTransposeBroadcastTile() throws {
        for d in [DType.float32, .float64, .int32, .int64, .bool] {
            let x = RefArray((0..<60).map { Double($0 % 2 == 0 ? $0 : 0) }, [3, 4, 5])
            for perm in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [0, 2, 1]] {
                let want = Reference.transpose(x, perm)
                let wantD = d == .bool ? RefArray(want.values.map { $0 != 0 ? 1 : 0 }, want.shape) : want
                let xd = d == .bool ? RefArray(x.values.map { $0 != 0 ? 1 : 0 }, x.shape) : x
                try rtCheckOp([RTInput(value: xd, dtype: d)], expected: wantD, tol: 0, "transpose \(perm) \(d)") { $0[0].transposed(perm) }
            }
            if d == .bool { continue }
            let b = RefArray((0..<4).map(Double.init), [4, 1])
            try rtCheckOp([RTInput(value: b, dtype: d)], expected: Reference.broadcast(b, to: [2, 4, 3]), tol: 0, "broadcastTo") { $0[0].broadcast(to: [2, 4, 3]) }
            try rtCheckOp([RTInput(value: b, dtype: d)], expected: Reference.tile(b, [3, 2]), tol: 0, "tile") { $0[0].tiled([3, 2]) }
            try rtCheckOp([RTInput(value: x, dtype: d)], expected: Reference.tile(x, [1, 0, 2]), tol: 0, "tile 0") { $0[0].tiled([1, 0, 2]) }
        }
        // A large transpose (parallel path).
        let big = Reference.data([130, 257], seed: 2)
        try rtCheckOp([RTInput(value: big)], expected: Reference.transpose(big, [1, 0]), tol: 0, "big transpose") { $0[0].transposed([1, 0]) }
    }

    func testReshapeSqueezeExpandIdentity() throws {
        let x = Reference.data([2, 1, 6], seed: 1)
        try rtCheckOp([RTInput(value: x, unknownBatch: true)], expected: RefArray(x.values, [3, 4]), tol: 0, "reshape") { $0[0].reshaped([-1, 4]) }
        try rtCheckOp([RTInput(value: x)], expected: RefArray(x.values, [2, 6]), tol: 0, "squeeze") { $0[0].squeezed(axes: [1]) }
        try rtCheckOp([RTInput(value: x)], expected: RefArray(x.values, [2, 1, 1, 6]), tol: 0, "expand") { $0[0].expandingDims(axis: 1) }
        try rtCheckOp([RTInput(value: x)], expected: x, tol: 0, "identity") { $0[0].identity() }
        // A view feeding an op, with the view fetched too (its value is copied out).
        let g = Graph()
        let p = g.placeholder("p", shape: [2, 1, 6])
        let r = p.reshaped([12])
        let s = (r * 2.0).sum()
        let out = try Session(g).run([r, s], feeds: [p: try x.host()])
        rtAssertClose(out[0], RefArray(x.values, [12]), tol: 1e-7)
        rtAssertClose(out[1], RefArray([x.values.reduce(0, +) * 2], []), tol: 1e-5)
    }

    func testSliceConcatPadSliceBackward() throws {
        let x = Reference.data([5, 7, 3], seed: 5)
        let specs: [SliceSpec] = [
            SliceSpec(begin: [1, nil], end: [4, nil]), SliceSpec(begin: [nil, -2], end: [nil, nil]),
            SliceSpec(begin: [nil, nil, nil], end: [nil, nil, nil], stride: [-1, 2, -2]),
            SliceSpec(begin: [4, 6], end: [0, 1], stride: [-2, -3]), SliceSpec(begin: [3], end: [3]),
        ]
        for d in floats {
            for spec in specs {
                try rtCheckOp([RTInput(value: x, dtype: d)], expected: Reference.slice(x, spec), tol: 0, "slice \(spec)") {
                    $0[0].slice(begin: spec.begin, end: spec.end, strides: spec.stride)
                }
                let g = Reference.data(Reference.slice(x, spec).shape, seed: 6)
                let like = RefArray(zeros: x.shape)
                try rtCheckOp([RTInput(value: g, dtype: d), RTInput(value: like, dtype: d)],
                              expected: Reference.sliceBackward(g, spec, shape: x.shape), tol: 0, "sliceBackward") {
                    $0[0].graph.addNode(.sliceBackward(spec), inputs: [$0[0], $0[1]], location: .unknown)
                }
            }
            let a = Reference.data([2, 3], seed: 1), b = Reference.data([2, 5], seed: 2), c = Reference.data([2, 0], seed: 3)
            try rtCheckOp([RTInput(value: a, dtype: d), RTInput(value: b, dtype: d), RTInput(value: c, dtype: d)],
                          expected: Reference.concat([a, b, c], axis: 1), tol: 0, "concat 1") { concat($0, axis: 1) }
            let e = Reference.data([3, 3], seed: 4)
            try rtCheckOp([RTInput(value: a, dtype: d, unknownBatch: true), RTInput(value: e, dtype: d, unknownBatch: true)],
                          expected: Reference.concat([a, e], axis: 0), tol: 0, "concat 0") { concat($0, axis: 0) }
            try rtCheckOp([RTInput(value: a, dtype: d)], expected: Reference.pad(a, [(1, 2), (0, 3)], value: 1.5), tol: 0, "pad") {
                $0[0].padded([(1, 2), (0, 3)], value: 1.5)
            }
        }
        let ints = RefArray([1, 2, 3, 4, 5, 6], [2, 3])
        try rtCheckOp([RTInput(value: ints, dtype: .int64)], expected: Reference.pad(ints, [(0, 1), (2, 0)], value: 7), tol: 0, "pad int") {
            $0[0].padded([(0, 1), (2, 0)], value: 7)
        }
    }

    func testGatherOneHotAndBackward() throws {
        let p = Reference.data([5, 4, 3], seed: 7)
        let idx = [4, 0, 2, 2, 1, 3]
        for d in floats {
            for id in [DType.int32, .int64] {
                for (axis, limit) in [(0, 5), (1, 4), (2, 3)] {
                    let ix = idx.map { $0 % limit }
                    let idxRef = RefArray(ix.map(Double.init), [2, 3])
                    try rtCheckOp([RTInput(value: p, dtype: d), RTInput(value: idxRef, dtype: id)],
                                  expected: Reference.gather(p, indices: ix, indexShape: [2, 3], axis: axis), tol: 0, "gather \(axis)") {
                        $0[0].gather($0[1], axis: axis)
                    }
                    let gShape = Array(p.shape[..<axis]) + [2, 3] + Array(p.shape[(axis + 1)...])
                    let g = Reference.data(gShape, seed: 8)
                    try rtCheckOp([RTInput(value: g, dtype: d), RTInput(value: idxRef, dtype: id), RTInput(value: RefArray(zeros: p.shape), dtype: d)],
                                  expected: Reference.gatherBackward(g, indices: ix, indexShape: [2, 3], axis: axis, shape: p.shape),
                                  tol: rtTol(d), "gatherBackward \(axis)") {
                        $0[0].graph.addNode(.gatherBackward(axis: axis), inputs: $0, location: .unknown)
                    }
                }
            }
        }
        // Gather of int and bool params; an empty index list.
        let ip = RefArray([1, 2, 3, 4, 5, 6], [3, 2])
        try rtCheckOp([RTInput(value: ip, dtype: .int32), RTInput(value: RefArray([2, 0], [2]), dtype: .int32)],
                      expected: RefArray([5, 6, 1, 2], [2, 2]), tol: 0, "gather int") { $0[0].gather($0[1]) }
        try rtCheckOp([RTInput(value: ip, dtype: .float32), RTInput(value: RefArray([], [0]), dtype: .int64)],
                      expected: RefArray([], [0, 2]), tol: 0, "gather none") { $0[0].gather($0[1]) }
        for dt in [DType.float32, .int32, .bool, .float64] {
            let ind = [3, 0, -1, 7, 2]
            try rtCheckOp([RTInput(value: RefArray(ind.map(Double.init), [5]), dtype: .int32, unknownBatch: true)],
                          expected: Reference.oneHot(ind, shape: [5], depth: 4), tol: 0, "oneHot \(dt)") { oneHot($0[0], depth: 4, dtype: dt) }
        }
    }

    func testBroadcastLikeSumLikeReshapeLike() throws {
        for d in floats {
            let x = Reference.data([4, 1], seed: 1), like = RefArray(zeros: [3, 4, 5])
            try rtCheckOp([RTInput(value: x, dtype: d), RTInput(value: like, dtype: d, unknownBatch: true)],
                          expected: Reference.broadcast(x, to: [3, 4, 5]), tol: 0, "broadcastLike") {
                $0[0].graph.addNode(.broadcastLike, inputs: $0, location: .unknown)
            }
            let big = Reference.data([3, 4, 5], seed: 2)
            for target in [[4, 1], [5], [1, 5], [3, 1, 1], [1], []] as [[Int]] {
                try rtCheckOp([RTInput(value: big, dtype: d, unknownBatch: true), RTInput(value: RefArray(zeros: target), dtype: d)],
                              expected: Reference.sumLike(big, shape: target), tol: rtTol(d) * 10, "sumLike \(target)") {
                    $0[0].graph.addNode(.sumLike, inputs: $0, location: .unknown)
                }
            }
            try rtCheckOp([RTInput(value: big, dtype: d), RTInput(value: RefArray(zeros: [6, 10]), dtype: d)],
                          expected: RefArray(big.values, [6, 10]), tol: 0, "reshapeLike") {
                $0[0].graph.addNode(.reshapeLike, inputs: $0, location: .unknown)
            }
        }
    }

    func testConv2dAndBackward() throws {
        let configs: [([Int], [Int], Conv2DConfig)] = [
            ([2, 3, 7, 6], [4, 3, 3, 2], Conv2DConfig()),
            ([1, 1, 5, 5], [1, 1, 5, 5], Conv2DConfig()),
            ([2, 2, 9, 8], [3, 2, 3, 3], Conv2DConfig(strides: (2, 3), padding: .same)),
            ([1, 2, 6, 7], [2, 2, 2, 3], Conv2DConfig(padding: .explicit(top: 1, bottom: 0, left: 2, right: 1), dilation: (2, 1))),
            ([3, 1, 4, 4], [2, 1, 1, 1], Conv2DConfig(strides: (2, 2))),
            ([0, 2, 5, 5], [3, 2, 3, 3], Conv2DConfig()),
            ([2, 8, 6, 6], [16, 8, 3, 3], Conv2DConfig(padding: .same)),
            ([3, 4, 9, 7], [5, 4, 3, 2], Conv2DConfig()),  // the dense im2col/col2im path (stride 1, windows inside)
            ([3, 1, 64, 64], [1, 1, 5, 5], Conv2DConfig()),  // large images: im2col runs in chunks of 2 images (float32 only)
        ]
        for d in floats {
            for (k, (xs, ws, c)) in configs.enumerated() {
                if xs[2] > 32 && d == .float64 { continue }  // the slow reference once is enough
                let x = Reference.data(xs, seed: UInt64(k)), w = Reference.data(ws, seed: UInt64(k + 50))
                let info = try Op.conv2d(c).infer(inputs: [(d, Shape(known: xs)), (d, Shape(known: ws))]).get()
                let os = try XCTUnwrap(info.shape.known)
                let want = Reference.conv2d(x, w, c, outHW: (os[2], os[3]))
                try rtCheckOp([RTInput(value: x, dtype: d, unknownBatch: true), RTInput(value: w, dtype: d)], expected: want,
                              tol: rtTol(d) * 10, "conv2d \(k)") {
                    $0[0].graph.addNode(.conv2d(c), inputs: $0, location: .unknown)
                }
                let dy = Reference.data(os, seed: UInt64(k + 99))
                let (dx, dw) = Reference.conv2dBackward(x, w, dy, c)
                try rtCheckOp([RTInput(value: dy, dtype: d), RTInput(value: w, dtype: d), RTInput(value: x, dtype: d)], expected: dx,
                              tol: rtTol(d) * 10, "conv2dBackwardInput \(k)") {
                    $0[0].graph.addNode(.conv2dBackwardInput(c), inputs: $0, location: .unknown)
                }
                try rtCheckOp([RTInput(value: x, dtype: d), RTInput(value: dy, dtype: d), RTInput(value: w, dtype: d)], expected: dw,
                              tol: rtTol(d) * 10, "conv2dBackwardFilter \(k)") {
                    $0[0].graph.addNode(.conv2dBackwardFilter(c), inputs: $0, location: .unknown)
                }
            }
        }
    }

    func testPooling() throws {
        let configs: [([Int], Pool2DConfig)] = [
            ([2, 3, 8, 8], Pool2DConfig(kernel: (2, 2))), ([1, 2, 7, 5], Pool2DConfig(kernel: (3, 2), strides: (2, 1))),
            ([1, 1, 5, 5], Pool2DConfig(kernel: (2, 2), padding: .same)), ([2, 1, 4, 6], Pool2DConfig(kernel: (3, 3), strides: (1, 2), padding: .explicit(top: 1, bottom: 1, left: 0, right: 2))),
            ([1, 1, 1, 1], Pool2DConfig(kernel: (1, 1))), ([0, 2, 4, 4], Pool2DConfig(kernel: (2, 2))),
        ]
        for d in floats {
            for (k, (xs, c)) in configs.enumerated() {
                let x = Reference.data(xs, seed: UInt64(k + 3))
                let info = try Op.maxPool2d(c).infer(inputs: [(d, Shape(known: xs))]).get()
                let os = try XCTUnwrap(info.shape.known)
                let dy = Reference.data(os, seed: UInt64(k + 30))
                for isMax in [true, false] {
                    let (y, dx) = Reference.pool(x, c, max: isMax, outHW: (os[2], os[3]), dy: dy)
                    try rtCheckOp([RTInput(value: x, dtype: d, unknownBatch: true)], expected: y, tol: rtTol(d), "pool \(k) \(isMax)") {
                        isMax ? maxPool2d($0[0], kernel: (c.kernelH, c.kernelW), strides: (c.strideH, c.strideW), padding: c.padding)
                              : avgPool2d($0[0], kernel: (c.kernelH, c.kernelW), strides: (c.strideH, c.strideW), padding: c.padding)
                    }
                    if isMax {
                        try rtCheckOp([RTInput(value: x, dtype: d), RTInput(value: dy, dtype: d)], expected: dx, tol: rtTol(d), "maxPoolBackward \(k)") {
                            $0[0].graph.addNode(.maxPool2dBackward(c), inputs: $0, location: .unknown)
                        }
                    } else {
                        try rtCheckOp([RTInput(value: dy, dtype: d), RTInput(value: x, dtype: d)], expected: dx, tol: rtTol(d), "avgPoolBackward \(k)") {
                            $0[0].graph.addNode(.avgPool2dBackward(c), inputs: $0, location: .unknown)
                        }
                    }
                }
            }
        }
    }

    /// 2×2 stride-2 max pooling has branch-free paths: ties (first maximum wins), -inf, odd sizes (the last row and
    /// column belong to no window), and NaN (first NaN wins; inf − inf takes the careful path too).
    func testMaxPool2x2FastPathTiesAndNaN() throws {
        let c = Pool2DConfig(kernel: (2, 2))
        let xs = [2, 3, 7, 9]
        var x = Reference.data(xs, seed: 4)
        for i in 0..<x.count { x.values[i] = i % 5 == 0 ? -.infinity : (x.values[i] * 2).rounded() }  // many ties
        let os = [2, 3, 3, 4], dy = Reference.data(os, seed: 5)
        let (y, dx) = Reference.pool(x, c, max: true, outHW: (3, 4), dy: dy)
        for d in floats {
            try rtCheckOp([RTInput(value: x, dtype: d)], expected: y, tol: 0, "maxPool ties \(d)") { maxPool2d($0[0], kernel: (2, 2)) }
            try rtCheckOp([RTInput(value: x, dtype: d), RTInput(value: dy, dtype: d)], expected: dx, tol: rtTol(d), "maxPoolBackward ties \(d)") {
                $0[0].graph.addNode(.maxPool2dBackward(c), inputs: $0, location: .unknown)
            }
        }
        // Windows (row-major): [1, 3, nan, 3] → the NaN; [nan, nan, 5, 1] → the first NaN; [inf, -inf, 0, 0] → inf.
        let nan = Double.nan, inf = Double.infinity
        let special = RefArray([1, 3, nan, nan, inf, -inf,
                                nan, 3, 5, 1, 0, 0], [1, 1, 2, 6])
        let g = RefArray([10, 20, 30], [1, 1, 1, 3])
        let wantY = RefArray([nan, nan, inf], [1, 1, 1, 3])
        let wantDx = RefArray([0, 0, 20, 0, 30, 0,
                               10, 0, 0, 0, 0, 0], [1, 1, 2, 6])
        for d in floats {
            try rtCheckOp([RTInput(value: special, dtype: d)], expected: wantY, tol: 0, "maxPool NaN \(d)") { maxPool2d($0[0], kernel: (2, 2)) }
            try rtCheckOp([RTInput(value: special, dtype: d), RTInput(value: g, dtype: d)], expected: wantDx, tol: 0, "maxPoolBackward NaN \(d)") {
                $0[0].graph.addNode(.maxPool2dBackward(c), inputs: $0, location: .unknown)
            }
        }
    }

    func testRandomOps() throws {
        let g = Graph()
        let u = g.randomUniform(shape: [1000], low: -2, high: 3, seed: 7)
        let n = g.randomNormal(shape: [4000], mean: 1, std: 2, seed: 7)
        let s1 = try Session(g), s2 = try Session(g)
        let a1 = try s1.run([u, n]), a2 = try s1.run([u, n])
        let b1 = try s2.run([u, n])
        XCTAssertEqual(a1[0], b1[0], "same session sequence is reproducible")
        XCTAssertEqual(a1[1], b1[1])
        XCTAssertNotEqual(a1[0], a2[0], "each run draws new numbers")
        let uv = a1[0].doubles
        XCTAssertTrue(uv.allSatisfy { $0 >= -2 && $0 < 3 })
        XCTAssertEqual(uv.reduce(0, +) / 1000, 0.5, accuracy: 0.15)
        let nv = a1[1].doubles
        let mean = nv.reduce(0, +) / 4000
        let sd = (nv.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4000).squareRoot()
        XCTAssertEqual(mean, 1, accuracy: 0.1)
        XCTAssertEqual(sd, 2, accuracy: 0.1)
        // The shape-of-input form, with an unknown batch.
        let x = g.placeholder("x", shape: [nil, 3])
        let r = g.addNode(.random(.uniform(low: 0, high: 1), seed: 1, shape: [nil, 3]), inputs: [x], location: .unknown)
        XCTAssertEqual(try s1.run(r, feeds: [x: HostTensor(zeros: .float32, shape: [5, 3])]).shape, [5, 3])
    }
}
