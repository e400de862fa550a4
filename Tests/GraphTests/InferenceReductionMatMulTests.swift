import XCTest
@testable import Graph

/// Dtype and shape inference of matmul (2-D, batched, transpose flags), reductions and argmax/argmin.
final class InferenceReductionMatMulTests: XCTestCase {
    func testMatMul2D() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 784])
        let w = g.variable("w", initializer: .glorotUniform, shape: [784, 512], seed: 1)
        let wt = g.variable("wt", initializer: .zeros, shape: [512, 784])
        let xt = g.placeholder("xt", shape: [784, nil])
        assertType(x.matmul(w), .float32, [nil, 512])
        assertType(matmul(x, w), .float32, [nil, 512])
        assertType(x.matmul(wt, transposeB: true), .float32, [nil, 512])
        assertType(xt.matmul(w, transposeA: true), .float32, [nil, 512])
        assertType(xt.matmul(wt, transposeA: true, transposeB: true), .float32, [nil, 512])
        XCTAssertEqual(x.matmul(wt, transposeB: true).node.op.name, "matmul(tB)")
        XCTAssertEqual(xt.matmul(wt, transposeA: true, transposeB: true).node.op.name, "matmul(tA,tB)")
        let d = g.placeholder("d", shape: [2, 3], dtype: .float64)
        assertType(d.matmul(d, transposeB: true), .float64, [2, 2])
        assertValid(g)
    }

    func testMatMulBatched() {
        let g = Graph()
        let a = g.placeholder("a", shape: [nil, 4, 3, 5])
        let b = g.placeholder("b", shape: [4, 5, 6])
        let m = g.placeholder("m", shape: [5, 6])
        let bt = g.placeholder("bt", shape: [1, 6, 5])
        assertType(a.matmul(b), .float32, [nil, 4, 3, 6])
        assertType(a.matmul(m), .float32, [nil, 4, 3, 6])
        assertType(a.matmul(bt, transposeB: true), .float32, [nil, 4, 3, 6])
        let at = g.placeholder("at", shape: [7, 5, 3])
        assertType(at.matmul(b.slice(begin: [0], end: [1]), transposeA: true), .float32, [7, 3, 6])
        assertValid(g)
    }

    func testMatMulErrors() {
        do {
            let g = Graph()
            let a = g.placeholder("a", shape: [nil, 3]), b = g.placeholder("b", shape: [4, 5])
            let line = #line + 1
            let y = a.matmul(b)
            assertInvalid(g, node: y.name, message: "inner dimensions differ", location: here(line))
            XCTAssertEqual(y.shape, [nil, 5])
        }
        do {
            let g = Graph()
            let a = g.placeholder("a", shape: [3, 4]), b = g.placeholder("b", shape: [5, 4])
            let line = #line + 1
            let y = a.matmul(b, transposeA: true)
            assertInvalid(g, node: y.name, message: "(3 vs 5)", location: here(line))
        }
        do {
            let g = Graph()
            let a = g.placeholder("a", shape: [3]), b = g.placeholder("b", shape: [3, 4])
            let line = #line + 1
            let y = a.matmul(b)
            assertInvalid(g, node: y.name, message: "rank ≥ 2", location: here(line))
        }
        do {
            let g = Graph()
            let a = g.placeholder("a", shape: [2, 3, 4]), b = g.placeholder("b", shape: [5, 4, 6])
            let line = #line + 1
            let y = a.matmul(b)
            assertInvalid(g, node: y.name, message: "batch dimensions", location: here(line))
        }
        do {
            let g = Graph()
            let a = g.placeholder("a", shape: [2, 3], dtype: .int32)
            let line = #line + 1
            let y = a.matmul(a, transposeB: true)
            assertInvalid(g, node: y.name, message: "floating-point", location: here(line))
        }
        do {
            let g = Graph()
            let a = g.placeholder("a", shape: [2, 3]), b = g.placeholder("b", shape: [3, 2], dtype: .float64)
            let line = #line + 1
            let y = a.matmul(b)
            assertInvalid(g, node: y.name, message: "dtypes float32 and float64 differ", location: here(line))
        }
    }

    func testReductionsOverAnyAxes() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 3, 4, 5])
        let fs: [ReduceFunction] = ReduceFunction.allCases
        XCTAssertEqual(fs.count, 6)
        for f in fs {
            assertType(x.reduce(f), .float32, [])
            assertType(x.reduce(f, keepDims: true), .float32, [1, 1, 1, 1])
            assertType(x.reduce(f, axes: [1]), .float32, [nil, 4, 5])
            assertType(x.reduce(f, axes: [1], keepDims: true), .float32, [nil, 1, 4, 5])
            assertType(x.reduce(f, axes: [0, 2]), .float32, [3, 5])
            assertType(x.reduce(f, axes: [-1, 1]), .float32, [nil, 4])
            assertType(x.reduce(f, axes: [3, -1, 3]), .float32, [nil, 3, 4])   // duplicates merge
            assertType(x.reduce(f, axes: [0], keepDims: true), .float32, [1, 3, 4, 5])
            assertType(x.reduce(f, axes: []), .float32, [nil, 3, 4, 5])
            guard case .reduce(let ff, let axes, true) = x.reduce(f, axes: [2, -1, 0], keepDims: true).node.op else {
                return XCTFail()
            }
            XCTAssertEqual(ff, f)
            XCTAssertEqual(axes, [0, 2, 3])   // normalized: non-negative, sorted, unique
        }
        assertType(x.sum(), .float32, [])
        assertType(x.sum(axis: 1), .float32, [nil, 4, 5])
        assertType(x.sum(axes: [1, 2], keepDims: true), .float32, [nil, 1, 1, 5])
        assertType(x.mean(axis: -1), .float32, [nil, 3, 4])
        assertType(x.mean(axes: [0]), .float32, [3, 4, 5])
        assertType(x.max(axis: 2, keepDims: true), .float32, [nil, 3, 1, 5])
        assertType(x.max(axes: [0, 1]), .float32, [4, 5])
        assertType(x.min(axis: 3), .float32, [nil, 3, 4])
        assertType(x.min(axes: nil), .float32, [])
        assertType(x.prod(axes: [3]), .float32, [nil, 3, 4])
        assertType(x.logsumexp(axis: 1), .float32, [nil, 4, 5])
        assertType(x.logsumexp(axes: [1, 3], keepDims: true), .float32, [nil, 1, 4, 1])
        let i = g.placeholder("i", shape: [2, 3], dtype: .int32)
        assertType(i.sum(axis: 0), .int32, [3])
        assertType(i.max(), .int32, [])
        assertType(i.prod(), .int32, [])
        assertValid(g)
    }

    func testArgReductions() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 10])
        assertType(x.argmax(axis: 1), .int64, [nil])
        assertType(x.argmax(axis: -1, keepDims: true), .int64, [nil, 1])
        assertType(x.argmin(axis: 0), .int64, [10])
        assertType(x.argmin(axis: 0, keepDims: true), .int64, [1, 10])
        let i = g.placeholder("i", shape: [4], dtype: .int32)
        assertType(i.argmax(axis: 0), .int64, [])
        assertValid(g)
    }

    func testReductionErrors() {
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 3])
            let line = #line + 1
            let y = x.sum(axis: 2)
            assertInvalid(g, node: y.name, message: "axis 2 is out of range for rank 2", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 3])
            let line = #line + 1
            let y = x.mean(axes: [-3])
            assertInvalid(g, node: y.name, message: "out of range for rank 2", location: here(line))
        }
        do {
            let g = Graph()
            let i = g.placeholder("i", shape: [2, 3], dtype: .int32)
            let line = #line + 1
            let y = i.mean()
            assertInvalid(g, node: y.name, message: "mean needs a floating-point input", location: here(line))
        }
        do {
            let g = Graph()
            let p = g.placeholder("p", shape: [2], dtype: .bool)
            let line = #line + 1
            let y = p.sum()
            assertInvalid(g, node: y.name, message: "needs numbers", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 3])
            let line = #line + 1
            let y = x.argmax(axis: 2)
            assertInvalid(g, node: y.name, message: "out of range", location: here(line))
            XCTAssertEqual(y.dtype, .int64)
        }
        do {
            let g = Graph()
            let p = g.placeholder("p", shape: [2], dtype: .bool)
            let line = #line + 1
            let y = p.argmin(axis: 0)
            assertInvalid(g, node: y.name, message: "need numbers", location: here(line))
        }
    }
}
