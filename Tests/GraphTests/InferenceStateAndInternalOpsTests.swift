import XCTest
@testable import Graph

/// Inference of sources, state ops (assign, group, control dependencies), the gradient
/// helper ops made by autodiff, and the fused ops made by the optimizer.
final class InferenceStateAndInternalOpsTests: XCTestCase {
    private let loc = SourceLocation(file: "GraphTests/Internal.swift", line: 1)

    func testSources() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 784])
        assertType(x, .float32, [nil, 784])
        XCTAssertEqual(x.node.op, .placeholder)
        let l = g.placeholder("l", shape: [nil], dtype: .int32)
        assertType(l, .int32, [nil])
        let w = g.variable("w", initializer: .glorotUniform, shape: [784, 512], seed: 1)
        assertType(w, .float32, [784, 512])
        XCTAssertEqual(w.node.op, .variable(.glorotUniform, seed: 1))
        let v = g.variable("v", value: HostTensor([1.0, 2.0] as [Double]))
        assertType(v, .float64, [2])
        let k = g.variable("k", initializer: .zeros, shape: [3], dtype: .int64)
        assertType(k, .int64, [3])
        assertType(g.constant(3.0), .float32, [])
        assertType(g.constant(3.0, dtype: .int32), .int32, [])
        assertType(g.constant([1, 2, 3, 4, 5, 6] as [Int32], shape: [2, 3]), .int32, [2, 3])
        assertType(g.constant(HostTensor(filled: 1, dtype: .bool, shape: [4])), .bool, [4])
        XCTAssertTrue([x, w, v].allSatisfy { $0.node.op.isSource })
        XCTAssertEqual(g.constant(2.5).node.op.name, "const(2.5)")
        assertValid(g)
    }

    func testAssignOps() {
        let g = Graph()
        let v = g.variable("v", initializer: .zeros, shape: [3, 4])
        let val = g.placeholder("val", shape: [3, 4])
        let row = g.placeholder("row", shape: [4])
        let a = v.assign(val)
        assertType(a, .float32, [3, 4])
        XCTAssertEqual(a.node.op, .assign(.assign))
        XCTAssertEqual(a.node.inputs, [v.id, val.id])
        let add = v.assignAdd(row)
        assertType(add, .float32, [3, 4])
        XCTAssertEqual(add.node.op.name, "assignAdd")
        let sub = v.assignSub(g.constant(1.0))
        assertType(sub, .float32, [3, 4])
        XCTAssertEqual(sub.node.op.name, "assignSub")
        let u = g.placeholder("u", shape: [nil, 4])
        assertType(v.assign(u), .float32, [3, 4])   // unknown rows: checked at run time
        XCTAssertTrue(a.node.op.hasSideEffects)
        assertValid(g)
    }

    func testAssignErrors() {
        do {
            let g = Graph()
            let p = g.placeholder("p", shape: [3])
            let line = #line + 1
            let a = p.assign(p)
            assertInvalid(g, node: a.name, message: "only a variable can be assigned to; 'p' is a placeholder", location: here(line))
        }
        do {
            let g = Graph()
            let v = g.variable("v", initializer: .zeros, shape: [3])
            let line = #line + 1
            let a = (v + 1).assignAdd(v)
            assertInvalid(g, node: a.name, message: "only a variable can be assigned to", location: here(line))
        }
        do {
            let g = Graph()
            let v = g.variable("v", initializer: .zeros, shape: [3, 4])
            let bad = g.placeholder("bad", shape: [4, 3])
            let line = #line + 1
            let a = v.assign(bad)
            assertInvalid(g, node: a.name, message: "cannot assign a value of shape [4, 3] to a variable of shape [3, 4]", location: here(line))
        }
        do {
            let g = Graph()
            let v = g.variable("v", initializer: .zeros, shape: [3, 4])
            let big = g.placeholder("big", shape: [2, 3, 4])
            let line = #line + 1
            let a = v.assignSub(big)
            assertInvalid(g, node: a.name, message: "cannot assign a value of shape [2, 3, 4]", location: here(line))
        }
        do {
            let g = Graph()
            let v = g.variable("v", initializer: .zeros, shape: [3])
            let d = g.placeholder("d", shape: [3], dtype: .float64)
            let line = #line + 1
            let a = v.assign(d)
            assertInvalid(g, node: a.name, message: "cannot assign float64 to a float32 variable", location: here(line))
        }
    }

    func testGroupAndControlDependencies() {
        let g = Graph()
        let v = g.variable("v", initializer: .zeros, shape: [2])
        let w = g.variable("w", initializer: .zeros, shape: [2])
        let a = v.assignAdd(g.constant(1.0))
        let b = w.assignAdd(g.constant(2.0))
        let grp = g.group([a, b])
        assertType(grp, .float32, [])
        XCTAssertEqual(grp.node.op, .group)
        XCTAssertEqual(grp.node.inputs, [a.id, b.id])
        XCTAssertEqual(grp.name, "group")
        XCTAssertEqual(g.group([a], name: "step").name, "step")
        assertType(g.group([]), .float32, [])
        let x = g.placeholder("x", shape: [2])
        let (y, z) = g.withControlDependencies([grp]) {
            g.withControlDependencies([a]) { (x * x, x.identity()) }
        }
        XCTAssertEqual(y.node.controlInputs.sorted(), [a.id, grp.id].sorted())
        XCTAssertEqual(z.node.controlInputs.sorted(), [a.id, grp.id].sorted())
        XCTAssertEqual(y.node.inputs, [x.id, x.id])
        XCTAssertTrue((x + x).node.controlInputs.isEmpty)   // scope ended
        let e = g.addNode(.identity, inputs: [x], controlInputs: [b], location: loc)
        XCTAssertEqual(e.node.controlInputs, [b.id])
        XCTAssertTrue(g.dump(nodes: [y.id]).contains("^[%"))
        assertValid(g)
    }

    func testGradientHelperOps() {
        let g = Graph()
        let x = g.placeholder("x", shape: [1, 5])
        let like = g.placeholder("like", shape: [nil, 3, 5])
        assertType(g.addNode(.broadcastLike, inputs: [x, like], location: loc), .float32, [nil, 3, 5])
        assertType(g.addNode(.sumLike, inputs: [like, x], location: loc), .float32, [1, 5])
        let flat = g.placeholder("flat", shape: [6])
        let m = g.placeholder("m", shape: [2, 3])
        assertType(g.addNode(.reshapeLike, inputs: [flat, m], location: loc), .float32, [2, 3])
        let grad = g.placeholder("grad", shape: [2, 4])
        let big = g.placeholder("big", shape: [5, 4])
        let spec = SliceSpec(begin: [1], end: [3])
        assertType(g.addNode(.sliceBackward(spec), inputs: [grad, big], location: loc), .float32, [5, 4])
        let rows = g.placeholder("rows", shape: [3, 16])
        let idx = g.placeholder("idx", shape: [3], dtype: .int32)
        let table = g.placeholder("table", shape: [100, 16])
        assertType(g.addNode(.gatherBackward(axis: 0), inputs: [rows, idx, table], location: loc), .float32, [100, 16])
        let cx = g.placeholder("cx", shape: [nil, 1, 28, 28])
        let cw = g.placeholder("cw", shape: [20, 1, 5, 5])
        let cdy = g.placeholder("cdy", shape: [nil, 20, 24, 24])
        let cfg = Conv2DConfig()
        assertType(g.addNode(.conv2dBackwardInput(cfg), inputs: [cdy, cw, cx], location: loc), .float32, [nil, 1, 28, 28])
        assertType(g.addNode(.conv2dBackwardFilter(cfg), inputs: [cx, cdy, cw], location: loc), .float32, [20, 1, 5, 5])
        let px = g.placeholder("px", shape: [nil, 20, 24, 24])
        let pdy = g.placeholder("pdy", shape: [nil, 20, 12, 12])
        let pc = Pool2DConfig(kernel: (2, 2))
        assertType(g.addNode(.maxPool2dBackward(pc), inputs: [px, pdy], location: loc), .float32, [nil, 20, 24, 24])
        assertType(g.addNode(.avgPool2dBackward(pc), inputs: [pdy, px], location: loc), .float32, [nil, 20, 24, 24])
        assertValid(g)
    }

    func testGradientHelperErrors() {
        let cases: [(Op, [Shape], [DType], String)] = [
            (.broadcastLike, [[4], [3]], [.float32, .float32], "cannot broadcast [4] to [3]"),
            (.broadcastLike, [[2, 3], [3]], [.float32, .float32], "cannot broadcast [2, 3] to [3]"),
            (.sumLike, [[3], [4]], [.float32, .float32], "cannot sum [3] down to [4]"),
            (.sumLike, [[3], [2, 3]], [.float32, .float32], "cannot sum [3] down to [2, 3]"),
            (.reshapeLike, [[5], [2, 3]], [.float32, .float32], "cannot reshape [5] to [2, 3]"),
            (.sliceBackward(SliceSpec(begin: [0], end: [1])), [[1], [5, 4]], [.float32, .float32], "rank 1 differs"),
            (.gatherBackward(axis: 0), [[3, 4], [3], [9, 4]], [.float32, .float32, .float32], "indices must be integers"),
        ]
        for (op, shapes, dtypes, message) in cases {
            let g = Graph()
            let ins = zip(shapes, dtypes).enumerated().map { g.placeholder("in\($0.offset)", shape: $0.element.0, dtype: $0.element.1) }
            let y = g.addNode(op, inputs: ins, location: loc)
            assertInvalid(g, node: y.name, message: message, location: "GraphTests/Internal.swift:1")
        }
    }

    func testFusedOps() {
        let g = Graph()
        let a = g.placeholder("a", shape: [nil, 4])
        let b = g.placeholder("b", shape: [4])
        let p = FusedProgram(steps: [.input(0), .input(1), .binary(.mul, 0, 1), .unary(.tanh, 2)],
                             dtypes: [.float32, .float32, .float32, .float32])
        XCTAssertEqual(p.inputCount, 2)
        XCTAssertEqual(p.resultDType, .float32)
        XCTAssertEqual(p.description, "r0 = in0; r1 = in1; r2 = mul(r0, r1); r3 = tanh(r2)")
        let f = g.addNode(.fused(p), inputs: [a, b], location: loc)
        assertType(f, .float32, [nil, 4])
        XCTAssertEqual(f.node.op.name, "fused(4)")
        XCTAssertTrue(f.node.op.isElementwise)
        let cmp = FusedProgram(steps: [.input(0), .constant(0), .binary(.greater, 0, 1), .cast(.float64, 2)],
                               dtypes: [.float32, .float32, .bool, .float64])
        assertType(g.addNode(.fused(cmp), inputs: [a], location: loc), .float64, [nil, 4])
        let sel = FusedProgram(steps: [.input(0), .input(1), .constant(0), .select(0, 1, 2)], dtypes: [.bool, .float32, .float32, .float32])
        XCTAssertEqual(sel.description, "r0 = in0; r1 = in1; r2 = 0.0; r3 = where(r0, r1, r2)")
        let constOnly = FusedProgram(steps: [.constant(2)], dtypes: [.float32])
        assertType(g.addNode(.fused(constOnly), inputs: [], location: loc), .float32, [])   // used to trap
        let fr = g.addNode(.fusedReduce(.sum, axes: [1], keepDims: false, p), inputs: [a, b], location: loc)
        assertType(fr, .float32, [nil])
        let frk = g.addNode(.fusedReduce(.max, axes: [0, 1], keepDims: true, p), inputs: [a, b], location: loc)
        assertType(frk, .float32, [1, 1])
        let x = g.placeholder("x", shape: [nil, 784])
        let w = g.placeholder("w", shape: [784, 512])
        let wt = g.placeholder("wt", shape: [512, 784])
        let bias = g.placeholder("bias", shape: [512])
        let lin = g.addNode(.linear(transposeA: false, transposeB: false, activation: .relu), inputs: [x, w, bias], location: loc)
        assertType(lin, .float32, [nil, 512])
        XCTAssertEqual(lin.node.op.name, "linear+relu")
        let lint = g.addNode(.linear(transposeA: false, transposeB: true, activation: nil), inputs: [x, wt, bias], location: loc)
        assertType(lint, .float32, [nil, 512])
        assertValid(g)
    }

    func testFusedAndArityErrors() {
        let p = FusedProgram(steps: [.input(0), .input(1), .binary(.add, 0, 1)], dtypes: [.float32, .float32, .float32])
        do {
            let g = Graph()
            let a = g.placeholder("a", shape: [4])
            let y = g.addNode(.fused(p), inputs: [a], location: loc)
            assertInvalid(g, node: y.name, message: "reads 2 inputs, has 1", location: "GraphTests/Internal.swift:1")
        }
        do {
            let g = Graph()
            let a = g.placeholder("a", shape: [4]), b = g.placeholder("b", shape: [5])
            let y = g.addNode(.fused(p), inputs: [a, b], location: loc)
            assertInvalid(g, node: y.name, message: "cannot broadcast", location: "GraphTests/Internal.swift:1")
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 3]), w = g.placeholder("w", shape: [3, 4]), bias = g.placeholder("bias", shape: [3])
            let y = g.addNode(.linear(transposeA: false, transposeB: false, activation: nil), inputs: [x, w, bias], location: loc)
            assertInvalid(g, node: y.name, message: "cannot broadcast", location: "GraphTests/Internal.swift:1")
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 3])
            let y = g.addNode(.binary(.add), inputs: [x], location: loc)
            assertInvalid(g, node: y.name, message: "expects 2 input(s), got 1", location: "GraphTests/Internal.swift:1")
        }
        do {
            let g = Graph()
            let y = g.addNode(.concat(axis: 0), inputs: [], location: loc)
            assertInvalid(g, node: y.name, message: "at least one input", location: "GraphTests/Internal.swift:1")
        }
    }

    func testOpMetadata() {
        XCTAssertEqual(Op.placeholder.arity, 0)
        XCTAssertEqual(Op.select.arity, 3)
        XCTAssertNil(Op.group.arity)
        XCTAssertTrue(Op.cast(.int32).isElementwise)
        XCTAssertFalse(Op.matmul(transposeA: false, transposeB: false).isElementwise)
        XCTAssertFalse(Op.unary(.relu).hasSideEffects)
        XCTAssertTrue(Op.group.hasSideEffects)
        XCTAssertEqual(Op.reduce(.sum, axes: [1], keepDims: true).name, "sum[1]k")
        XCTAssertEqual(Op.argReduce(.argmax, axis: 1, keepDims: false).name, "argmax(1)")
        XCTAssertEqual(UnaryFunction.leakyRelu(alpha: 0.1).name, "leakyRelu(0.1)")
        XCTAssertFalse(UnaryFunction.floor.isDifferentiable)
        XCTAssertTrue(UnaryFunction.gelu.isDifferentiable)
        XCTAssertEqual(BinaryFunction.allCases.filter(\.isComparison).count, 6)
        XCTAssertTrue(BinaryFunction.mul.isCommutative)
        XCTAssertFalse(BinaryFunction.sub.isCommutative)
        // The same inference function serves the runtime with concrete shapes.
        let r = Op.matmul(transposeA: false, transposeB: true).infer(inputs: [(.float32, [8, 3]), (.float32, [5, 3])])
        XCTAssertEqual(try? r.get(), TypeInfo(.float32, [8, 5]))
        if case .failure(let p) = Op.matmul(transposeA: false, transposeB: false).infer(inputs: [(.float32, [8, 3]), (.float32, [5, 3])]) {
            XCTAssertTrue(p.message.contains("inner dimensions differ"), p.message)
        } else { XCTFail() }
    }
}
