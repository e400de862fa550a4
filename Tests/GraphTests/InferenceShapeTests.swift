import XCTest
@testable import Graph

/// Dtype and shape inference of shape ops, and their diagnostics.
final class InferenceShapeTests: XCTestCase {
    func testReshape() {
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 3, 4])
        assertType(x.reshaped([6, 4]), .float32, [6, 4])
        assertType(x.reshaped([-1, 4]), .float32, [6, 4])
        assertType(x.reshaped([2, -1]), .float32, [2, 12])
        assertType(x.reshaped([24]), .float32, [24])
        assertType(x.reshaped([-1]), .float32, [24])
        let u = g.placeholder("u", shape: [nil, 784])
        assertType(u.reshaped([-1, 28, 28]), .float32, [nil, 28, 28])
        assertType(u.reshaped([-1, 1, 28, 28]), .float32, [nil, 1, 28, 28])
        let i = g.placeholder("i", shape: [4], dtype: .int64)
        assertType(i.reshaped([2, 2]), .int64, [2, 2])
        let s = g.constant(1.0)
        assertType(s.reshaped([1, 1]), .float32, [1, 1])
        assertType(x.flattened(), .float32, [2, 12])
        let img = g.placeholder("img", shape: [nil, 50, 4, 4])
        assertType(img.flattened(), .float32, [nil, 800])
        assertValid(g)
    }

    func testReshapeErrors() {
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 3])
            let line = #line + 1
            let y = x.reshaped([4, 2])
            assertInvalid(g, node: y.name, message: "cannot reshape [2, 3] (6 elements) to [4, 2]", location: here(line))
            XCTAssertEqual(y.shape, [4, 2])  // the guess keeps checking downstream nodes meaningful
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 3])
            let line = #line + 1
            let y = x.reshaped([4, -1])
            assertInvalid(g, node: y.name, message: "cannot reshape", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 3])
            let line = #line + 1
            let y = x.reshaped([-1, -1])
            assertInvalid(g, node: y.name, message: "one -1 dimension", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 3])
            let line = #line + 1
            let y = x.reshaped([-2, -3])
            assertInvalid(g, node: y.name, message: "negative size", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [nil, 3])
            let line = #line + 1
            let y = x.reshaped([4, 2])
            assertInvalid(g, node: y.name, message: "not a multiple of 3", location: here(line))
        }
    }

    func testTranspose() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 3, 4])
        assertType(x.transposed(), .float32, [4, 3, nil])
        assertType(x.transposed([0, 2, 1]), .float32, [nil, 4, 3])
        assertType(x.transposed([-1, 0, 1]), .float32, [4, nil, 3])
        assertType(x.T, .float32, [nil, 4, 3])
        XCTAssertEqual(x.transposed([1, 0, 2]).node.op, .transpose([1, 0, 2]))
        assertValid(g)
        let line = #line + 1
        let bad = x.transposed([0, 0, 1])
        assertInvalid(g, node: bad.name, message: "is not a permutation", location: here(line))
    }

    func testBroadcastTo() {
        let g = Graph()
        let x = g.placeholder("x", shape: [3, 1])
        assertType(x.broadcast(to: [2, 3, 5]), .float32, [2, 3, 5])
        let u = g.placeholder("u", shape: [nil, 5])
        assertType(u.broadcast(to: [4, 5]), .float32, [4, 5])
        assertValid(g)
        let line = #line + 1
        let bad = x.broadcast(to: [2, 5])
        assertInvalid(g, node: bad.name, message: "cannot broadcast [3, 1] to [2, 5]", location: here(line))
    }

    func testSqueezeAndExpandDims() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 1, 3, 1])
        assertType(x.squeezed(), .float32, [nil, 3])
        assertType(x.squeezed(axes: [1]), .float32, [nil, 3, 1])
        assertType(x.squeezed(axes: [-1]), .float32, [nil, 1, 3])
        assertType(x.squeezed(axes: [0]), .float32, [1, 3, 1])  // unknown dim: checked at run time
        assertType(x.expandingDims(axis: 0), .float32, [1, nil, 1, 3, 1])
        assertType(x.expandingDims(axis: -1), .float32, [nil, 1, 3, 1, 1])
        assertType(x.expandingDims(axis: 2), .float32, [nil, 1, 1, 3, 1])
        assertValid(g)
    }

    func testSqueezeAndExpandDimsErrors() {
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 1])
            let line = #line + 1
            let y = x.squeezed(axes: [0])
            assertInvalid(g, node: y.name, message: "cannot squeeze axis 0 of size 2", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 1])
            let line = #line + 1
            let y = x.squeezed(axes: [5])
            assertInvalid(g, node: y.name, message: "out of range", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [2, 1])
            let line = #line + 1
            let y = x.expandingDims(axis: 4)
            assertInvalid(g, node: y.name, message: "out of range", location: here(line))
        }
    }

    func testConcat() {
        let g = Graph()
        let a = g.placeholder("a", shape: [nil, 3])
        let b = g.placeholder("b", shape: [nil, 5])
        let c = g.placeholder("c", shape: [2, 3])
        assertType(concat([a, b], axis: 1), .float32, [nil, 8])
        assertType(concat([a, b, a], axis: -1), .float32, [nil, 11])
        assertType(concat([a, c], axis: 0), .float32, [nil, 3])
        assertType(concat([c, c], axis: 0), .float32, [4, 3])
        assertType(concat([a], axis: 0), .float32, [nil, 3])
        assertValid(g)
    }

    func testConcatErrors() {
        do {
            let g = Graph()
            let a = g.placeholder("a", shape: [2, 3]), b = g.placeholder("b", shape: [2, 4])
            let line = #line + 1
            let y = concat([a, b], axis: 0)
            assertInvalid(g, node: y.name, message: "inputs differ on axis 1", location: here(line))
        }
        do {
            let g = Graph()
            let a = g.placeholder("a", shape: [2, 3]), b = g.placeholder("b", shape: [2, 3], dtype: .float64)
            let line = #line + 1
            let y = concat([a, b], axis: 0)
            assertInvalid(g, node: y.name, message: "input 1 has dtype float64", location: here(line))
        }
        do {
            let g = Graph()
            let a = g.placeholder("a", shape: [2, 3]), b = g.placeholder("b", shape: [6])
            let line = #line + 1
            let y = concat([a, b], axis: 0)
            assertInvalid(g, node: y.name, message: "input 1 has rank 1", location: here(line))
        }
        do {
            let g = Graph()
            let a = g.placeholder("a", shape: [2, 3])
            let line = #line + 1
            let y = concat([a, a], axis: 2)
            assertInvalid(g, node: y.name, message: "axis 2 is out of range for rank 2", location: here(line))
        }
    }

    func testSplit() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 10])
        let parts = x.split(sizes: [3, 7], axis: 1)
        XCTAssertEqual(parts.count, 2)
        assertType(parts[0], .float32, [nil, 3])
        assertType(parts[1], .float32, [nil, 7])
        let halves = x.split(count: 2, axis: -1)
        XCTAssertEqual(halves.map(\.shape), [[nil, 5], [nil, 5]])
        XCTAssertEqual(Set(halves.map(\.name)).count, 2)
        assertValid(g)
    }

    func testSplitErrors() {
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [4, 10])
            let line = #line + 1
            let parts = x.split(sizes: [3, 3], axis: 1)
            assertInvalid(g, node: parts[0].name, message: "do not add up to 10", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [4, 10])
            let line = #line + 1
            let parts = x.split(count: 3, axis: 1)
            XCTAssertEqual(parts.count, 3)
            assertInvalid(g, node: parts[0].name, message: "axis 1 of length 10 does not split into 3 equal pieces", location: here(line))
        }
        do {
            // An unknown length cannot be split into equal pieces at build time (it used to give empty slices).
            let g = Graph()
            let x = g.placeholder("x", shape: [nil, 10])
            let line = #line + 1
            let parts = x.split(count: 2, axis: 0)
            assertInvalid(g, node: parts[0].name, message: "unknown length", location: here(line))
        }
        do {
            // An out-of-range negative axis (it used to return the whole tensor silently).
            let g = Graph()
            let x = g.placeholder("x", shape: [4, 10])
            let line = #line + 1
            let parts = x.split(sizes: [2, 2], axis: -5)
            assertInvalid(g, node: parts[1].name, message: "axis -5 is out of range for rank 2", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [nil, 10])
            let line = #line + 1
            let parts = x.split(sizes: [-1, 3], axis: 0)
            assertInvalid(g, node: parts[0].name, message: "must be ≥ 0", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [4, 10])
            let line = #line + 1
            let parts = x.split(count: 0, axis: 1)
            XCTAssertTrue(parts.isEmpty)
            assertInvalid(g, node: "split", message: "count must be positive", location: here(line))
        }
    }

    func testSliceKnownDims() {
        let g = Graph()
        let x = g.placeholder("x", shape: [10, 6, 4])
        assertType(x.slice(begin: [2], end: [5]), .float32, [3, 6, 4])
        assertType(x.slice(begin: [nil, 1], end: [nil, nil]), .float32, [10, 5, 4])
        assertType(x.slice(begin: [-3], end: [nil]), .float32, [3, 6, 4])
        assertType(x.slice(begin: [1], end: [-1]), .float32, [8, 6, 4])
        assertType(x.slice(begin: [0, 0, 0], end: [10, 6, 4], strides: [3, 2, 4]), .float32, [4, 3, 1])
        assertType(x.slice(begin: [nil], end: [nil], strides: [-1]), .float32, [10, 6, 4])
        assertType(x.slice(begin: [-1], end: [0], strides: [-2]), .float32, [5, 6, 4])
        assertType(x.slice(begin: [5], end: [100]), .float32, [5, 6, 4])   // clamped like NumPy
        assertType(x.slice(begin: [7], end: [3]), .float32, [0, 6, 4])     // empty
        let u = g.placeholder("u", shape: [nil, 6])
        assertType(u.slice(begin: [nil, 2], end: [nil, 4]), .float32, [nil, 2])
        assertType(u.slice(begin: [1, 2], end: [3, 4]), .float32, [nil, 2])
        assertValid(g)
    }

    /// The slice resolver against a NumPy-style reference written here (Python's slice.indices rules).
    func testSliceResolveMatchesReference() {
        func reference(_ b: Int?, _ e: Int?, _ s: Int, _ n: Int) -> Int {
            var out = 0
            if s > 0 {
                var lo = b ?? 0, hi = e ?? n
                if lo < 0 { lo = Swift.max(lo + n, 0) } else { lo = Swift.min(lo, n) }
                if hi < 0 { hi = Swift.max(hi + n, 0) } else { hi = Swift.min(hi, n) }
                var i = lo
                while i < hi { out += 1; i += s }
            } else {
                var hi = b ?? n - 1, lo = e ?? -n - 1
                if hi < 0 { hi = Swift.max(hi + n, -1) } else { hi = Swift.min(hi, n - 1) }
                if let e0 = e { lo = e0 < 0 ? Swift.max(e0 + n, -1) : Swift.min(e0, n - 1) } else { lo = -1 }
                var i = hi
                while i > lo { out += 1; i += s }
            }
            return out
        }
        let bounds: [Int?] = [nil, -9, -5, -2, -1, 0, 1, 3, 4, 5, 8]
        for n in [0, 1, 4, 5] {
            for s in [-3, -1, 1, 2] {
                for b in bounds {
                    for e in bounds {
                        let spec = SliceSpec(begin: [b], end: [e], stride: [s])
                        XCTAssertEqual(spec.resolve(axis: 0, length: n).count, reference(b, e, s, n),
                                       "n=\(n) [\(b.map(String.init) ?? ""):\(e.map(String.init) ?? ""):\(s)]")
                    }
                }
            }
        }
    }

    /// Malformed specs never trap in the public resolver (inference reports them).
    func testSliceResolveOfMalformedSpecs() {
        XCTAssertTrue(SliceSpec(begin: [1], end: [3], stride: [0]).resolve(axis: 0, length: 5) == (0, 5))
        XCTAssertTrue(SliceSpec(begin: [1, 2], end: [3], stride: [1]).resolve(axis: 1, length: 5) == (0, 5))
        XCTAssertTrue(SliceSpec(begin: [1], end: [3]).resolve(axis: 3, length: 7) == (0, 7))
    }

    func testSliceErrors() {
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [4, 4])
            let line = #line + 1
            let y = x.slice(begin: [0], end: [2], strides: [0])
            assertInvalid(g, node: y.name, message: "stride cannot be 0", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [4])
            let line = #line + 1
            let y = x.slice(begin: [0, 0], end: [1, 1])
            assertInvalid(g, node: y.name, message: "for rank 1", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [4, 4])
            let line = #line + 1
            let y = x.slice(begin: [0, 1], end: [2])
            assertInvalid(g, node: y.name, message: "2 begin, 1 end", location: here(line))
        }
    }

    func testGather() {
        let g = Graph()
        let table = g.placeholder("table", shape: [100, 16])
        let ids = g.placeholder("ids", shape: [nil, 7], dtype: .int32)
        let ids64 = g.placeholder("ids64", shape: [3], dtype: .int64)
        assertType(table.gather(ids), .float32, [nil, 7, 16])
        assertType(table.gather(ids64, axis: 1), .float32, [100, 3])
        assertType(table.gather(ids64, axis: -1), .float32, [100, 3])
        assertValid(g)
    }

    func testGatherErrors() {
        do {
            let g = Graph()
            let table = g.placeholder("table", shape: [100, 16])
            let f = g.placeholder("f", shape: [3])
            let line = #line + 1
            let y = table.gather(f)
            assertInvalid(g, node: y.name, message: "indices must be int32 or int64, got float32", location: here(line))
        }
        do {
            let g = Graph()
            let table = g.placeholder("table", shape: [100, 16])
            let i = g.placeholder("i", shape: [3], dtype: .int32)
            let line = #line + 1
            let y = table.gather(i, axis: 2)
            assertInvalid(g, node: y.name, message: "out of range", location: here(line))
        }
    }

    func testPadAndTile() {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 3, 4])
        assertType(x.padded([(0, 0), (1, 2), (3, 0)], value: -1), .float32, [nil, 6, 7])
        assertType(x.tiled([2, 3, 1]), .float32, [nil, 9, 4])
        let k = g.placeholder("k", shape: [2], dtype: .int32)
        assertType(k.tiled([0]), .int32, [0])
        assertValid(g)
    }

    func testPadAndTileErrors() {
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [3, 4])
            let line = #line + 1
            let y = x.padded([(1, 1)])
            assertInvalid(g, node: y.name, message: "pad needs 2", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [3, 4])
            let line = #line + 1
            let y = x.padded([(1, 1), (-1, 0)])
            assertInvalid(g, node: y.name, message: "≥ 0", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [3, 4])
            let line = #line + 1
            let y = x.tiled([2])
            assertInvalid(g, node: y.name, message: "tile needs 2", location: here(line))
        }
        do {
            let g = Graph()
            let x = g.placeholder("x", shape: [3, 4])
            let line = #line + 1
            let y = x.tiled([2, -1])
            assertInvalid(g, node: y.name, message: "non-negative", location: here(line))
        }
    }
}
