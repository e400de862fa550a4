import Foundation
import XCTest
import Graph
import Runtime
@testable import ONNX

/// Importing hand-built models, checked against Float64 loops written here.
final class ImportTests: XCTestCase {
    func testGemmReluSoftmaxMatchesReference() throws {
        let (n, k, o) = (3, 4, 5)
        let x = M.values(n * k, seed: 1), w = M.values(o * k, seed: 2), b = M.values(o, seed: 3)
        let model = M.model([
            M.node("Gemm", ["x", "w", "b"], ["h"], [M.int("transB", 1), M.float("alpha", 0.5)]),
            M.node("Relu", ["h"], ["r"]),
            M.node("Softmax", ["r"], ["y"], [M.int("axis", -1)]),
        ], inputs: [M.value("x", [nil, k])], outputs: ["y", "h"],
           initializers: [("w", try HostTensor(w, shape: [o, k])), ("b", HostTensor(b))])
        let m = try ONNXImporter.importModel(model)
        XCTAssertEqual(m.inputs[0].tensor.shape, Shape([nil, k]), "symbolic dimensions become unknown")
        let out = try M.run(model, ["x": try HostTensor(x, shape: [n, k])])
        var h = [Double](repeating: 0, count: n * o)
        for i in 0..<n {
            for j in 0..<o {
                var s = 0.0
                for t in 0..<k { s += Double(x[i * k + t]) * Double(w[j * k + t]) }
                h[i * o + j] = 0.5 * s + Double(b[j])
            }
        }
        for (a, e) in zip(out[1].floats, h) { XCTAssertEqual(Double(a), e, accuracy: 1e-5) }
        for i in 0..<n {
            let row = (0..<o).map { Swift.max(h[i * o + $0], 0) }
            let mx = row.max() ?? 0
            let z = row.map { Foundation.exp($0 - mx) }.reduce(0, +)
            for j in 0..<o { XCTAssertEqual(Double(out[0].floats[i * o + j]), Foundation.exp(row[j] - mx) / z, accuracy: 1e-6) }
        }
    }

    func testConvPadStridesAndMaxPoolCeilMode() throws {
        // x: 1×1×5×5, w: 2×1×3×3, pads 1, stride 2 → 1×2×3×3; then MaxPool 2×2 stride 2 ceil → 1×2×2×2.
        let x = M.values(25, seed: 4), w = M.values(18, seed: 5)
        let model = M.model([
            M.node("Conv", ["x", "w"], ["c"], [M.ints("pads", [1, 1, 1, 1]), M.ints("strides", [2, 2])]),
            M.node("MaxPool", ["c"], ["p"], [M.ints("kernel_shape", [2, 2]), M.ints("strides", [2, 2]), M.int("ceil_mode", 1)]),
        ], inputs: [M.value("x", [1, 1, 5, 5])], outputs: ["c", "p"], initializers: [("w", try HostTensor(w, shape: [2, 1, 3, 3]))])
        let out = try M.run(model, ["x": try HostTensor(x, shape: [1, 1, 5, 5])])
        XCTAssertEqual(out[0].shape, [1, 2, 3, 3])
        XCTAssertEqual(out[1].shape, [1, 2, 2, 2])
        var c = [Double](repeating: 0, count: 18)
        for oc in 0..<2 { for i in 0..<3 { for j in 0..<3 {
            var s = 0.0
            for a in 0..<3 { for bb in 0..<3 {
                let (r, q) = (i * 2 + a - 1, j * 2 + bb - 1)
                if r >= 0, r < 5, q >= 0, q < 5 { s += Double(x[r * 5 + q]) * Double(w[oc * 9 + a * 3 + bb]) }
            } }
            c[oc * 9 + i * 3 + j] = s
        } } }
        for (a, e) in zip(out[0].floats, c) { XCTAssertEqual(Double(a), e, accuracy: 1e-5) }
        for oc in 0..<2 { for i in 0..<2 { for j in 0..<2 {
            var m = -Double.infinity
            for a in 0..<2 { for bb in 0..<2 where i * 2 + a < 3 && j * 2 + bb < 3 { m = Swift.max(m, c[oc * 9 + (i * 2 + a) * 3 + j * 2 + bb]) } }
            XCTAssertEqual(Double(out[1].floats[oc * 4 + i * 2 + j]), m, accuracy: 1e-5)
        } } }
    }

    func testShapeArithmeticIsFoldedForReshape() throws {
        // Reshape(x, Concat(Gather(Shape(x), 0), [-1])): the PyTorch flatten pattern.
        let model = M.model([
            M.node("Shape", ["x"], ["s"]),
            M.node("Gather", ["s", "zero"], ["n"], [M.int("axis", 0)]),
            M.node("Unsqueeze", ["n", "axes0"], ["n1"]),
            M.node("Concat", ["n1", "minus1"], ["target"], [M.int("axis", 0)]),
            M.node("Reshape", ["x", "target"], ["y"]),
            M.node("Slice", ["y", "st", "en", "ax", "sp"], ["z"]),
        ], inputs: [M.value("x", [2, 3, 4])], outputs: ["y", "z"],
           initializers: [("zero", HostTensor(scalar: Int64(0))), ("axes0", HostTensor([Int64(0)])), ("minus1", HostTensor([Int64(-1)])),
                          ("st", HostTensor([Int64(-1)])), ("en", HostTensor([Int64.min])), ("ax", HostTensor([Int64(1)])), ("sp", HostTensor([Int64(-3)]))])
        let x = (0..<24).map { Float($0) }
        let out = try M.run(model, ["x": try HostTensor(x, shape: [2, 3, 4])])
        XCTAssertEqual(out[0].shape, [2, 12])
        XCTAssertEqual(out[0].floats, x)
        // Columns 11, 8, 5, 2 of each row.
        XCTAssertEqual(out[1].floats, [11, 8, 5, 2, 23, 20, 17, 14])
    }

    func testReduceGatherWhereAndCast() throws {
        let model = M.model([
            M.node("ReduceSum", ["x", "axes"], ["s"], [M.int("keepdims", 0)]),
            M.node("Gather", ["x", "idx"], ["g"], [M.int("axis", 1)]),
            M.node("Greater", ["x", "zero"], ["pos"]),
            M.node("Where", ["pos", "x", "zero"], ["relu"]),
            M.node("Cast", ["pos"], ["posi"], [M.int("to", 7)]),
        ], inputs: [M.value("x", [2, 3])], outputs: ["s", "g", "relu", "posi"],
           initializers: [("axes", HostTensor([Int64(-1)])), ("idx", HostTensor([Int64(-1), 0])), ("zero", HostTensor(scalar: Float(0)))])
        let out = try M.run(model, ["x": try HostTensor([1, -2, 3, -4, 5, -6] as [Float], shape: [2, 3])])
        XCTAssertEqual(out[0].floats, [2, -5])
        XCTAssertEqual(out[1].floats, [3, 1, -6, -4])
        XCTAssertEqual(out[2].floats, [1, 0, 3, 0, 5, 0])
        XCTAssertEqual(try out[3].scalars(as: Int64.self), [1, 0, 1, 0, 1, 0])
    }

    /// Cast to narrow types rounds (or wraps) once, from the source's precision, so a chain of
    /// casts gives what the narrow arithmetic would; CastLike reads the narrow type of its
    /// second input. References are computed by hand from the formats' definitions.
    func testCastsToNarrowTypesRoundLikeTheTypes() throws {
        func castTo(_ code: Int, _ attrs: [Onnx_AttributeProto] = []) -> [Onnx_AttributeProto] { [M.int("to", code)] + attrs }
        var like = Onnx_TensorProto()
        like.name = "like"; like.dataType = 19; like.dims = [1]; like.rawData = Data([0x3C])  // float8 E5M2 1.0
        var model = M.model([
            M.node("Cast", ["x"], ["h"], castTo(10)),                        // float16
            M.node("Cast", ["h"], ["hf"], castTo(1)),
            M.node("Cast", ["x"], ["f8"], castTo(17)),                       // E4M3FN, saturating
            M.node("Cast", ["f8"], ["f8f"], castTo(1)),
            M.node("Cast", ["x"], ["f8n"], castTo(17, [M.int("saturate", 0)])),
            M.node("Cast", ["f8n"], ["f8nf"], castTo(1)),
            M.node("CastLike", ["x", "like"], ["e5"]),                       // E5M2 via CastLike
            M.node("Cast", ["e5"], ["e5f"], castTo(1)),
            M.node("Cast", ["x"], ["i4"], castTo(22)),                       // int4: truncate, then wrap
            M.node("Cast", ["i4"], ["i4f"], castTo(1)),
        ], inputs: [M.value("x", [4])], outputs: ["hf", "f8f", "f8nf", "e5f", "i4f"], opset: 21)
        model.graph.initializer.append(like)
        let x = try HostTensor([1.00048828125 + 1e-7, 500, -0.30078125, 9.75] as [Float], shape: [4])
        let out = try M.run(model, ["x": x])
        XCTAssertEqual(out[0].floats, [1.0009765625, 500, -0.30078125, 9.75])      // half: 11 significant bits
        XCTAssertEqual(out[1].floats, [1, 448, -0.3125, 10])                        // E4M3: 4 bits, max 448
        XCTAssertEqual(Array(out[2].floats[0..<1]), [1]); XCTAssertTrue(out[2].floats[1].isNaN)
        XCTAssertEqual(out[3].floats, [1, 512, -0.3125, 10])                        // E5M2: 3 bits
        XCTAssertEqual(out[4].floats, [1, 4, 0, -7])                                // 500 = 0x1F4 → 4; 9 → 9 - 16
    }

    /// Loop unrolled at import time: a while-loop whose body computes its own condition, with a
    /// carried value and a scan output; and a for-loop whose trip count comes from float
    /// arithmetic on an input `symgraph run` knows. References computed by hand.
    func testLoopIsUnrolledWhenItsCountIsKnown() throws {
        // while (cond) { acc = acc * 2; cond = acc < limit; scan: acc + i }
        let body = M.subgraph([
            M.node("Mul", ["acc_in", "two"], ["acc_out"]),
            M.node("Less", ["acc_out", "limit"], ["cond_out"]),
            M.node("Cast", ["i"], ["i_f"], [M.int("to", 1)]),
            M.node("Add", ["acc_out", "i_f"], ["scan"]),
        ], inputs: [M.value("i", .int64, []), M.value("cond_in", .bool, []), M.value("acc_in", [2])], outputs: ["cond_out", "acc_out", "scan"])
        let model = M.model([M.node("Loop", ["", "go", "x"], ["final", "scans"], [M.graph("body", body)])],
                            inputs: [M.value("x", [2])], outputs: ["final", "scans"],
                            initializers: [("go", HostTensor(scalar: true)), ("two", HostTensor(scalar: Float(2))), ("limit", HostTensor(scalar: Float(20)))])
        // The body's condition here is elementwise (two bools): refused, it must be one bool.
        XCTAssertThrowsError(try M.run(model, ["x": try HostTensor([1, 3] as [Float], shape: [2])], options: ONNXImportOptions(inputValues: ["x": try HostTensor([1, 3] as [Float], shape: [2])]))) { e in
            XCTAssertTrue("\(e)".contains("must have one element"), "\(e)")
        }
        // With the condition max(acc) < limit instead:
        var one = model
        one.graph.node[0].attribute[0].g.node[1] = M.node("ReduceMax", ["acc_out"], ["m"], [M.int("keepdims", 0)])
        one.graph.node[0].attribute[0].g.node.insert(M.node("Less", ["m", "limit"], ["cond_out"]), at: 2)
        let x = try HostTensor([1, 3] as [Float], shape: [2])
        let out = try M.run(one, ["x": x], options: ONNXImportOptions(inputValues: ["x": x]))
        // [1,3] → [2,6] → [4,12] → [8,24] (max 24 ≥ 20: stop after 3 iterations).
        XCTAssertEqual(out[0].floats, [8, 24])
        XCTAssertEqual(out[1].shape, [3, 2])
        XCTAssertEqual(out[1].floats, [2, 6, 5, 13, 10, 26])

        // A dynamic count is a clear error naming the node.
        var dynamic = M.model([M.node("Loop", ["n", "", "x"], ["final"], [M.graph("body", M.subgraph([
            M.node("Identity", ["cond_in"], ["cond_out"]), M.node("Neg", ["v"], ["v_out"]),
        ], inputs: [M.value("i", .int64, []), M.value("cond_in", .bool, []), M.value("v", [2])], outputs: ["cond_out", "v_out"]))],
                                      name: "myloop")], inputs: [M.value("x", [2]), M.value("n", .int64, [])], outputs: ["final"])
        XCTAssertThrowsError(try M.run(dynamic, [:])) { e in
            XCTAssertTrue("\(e)".contains("myloop") && "\(e)".contains("trip count M must be known"), "\(e)")
        }
        // Known through inputValues: 3 negations.
        let n = HostTensor(scalar: Int64(3))
        let r = try M.run(dynamic, ["x": x, "n": n], options: ONNXImportOptions(inputValues: ["n": n]))
        XCTAssertEqual(r[0].floats, [-1, -3])
        dynamic.graph.node[0].input[0] = ""
        XCTAssertThrowsError(try M.run(dynamic, ["x": x])) { e in XCTAssertTrue("\(e)".contains("never ends"), "\(e)") }
    }

    /// A branch may read an outer value produced by a node listed after the If: that is a
    /// dependency too (the If is converted after it).
    func testSubgraphsDependOnTheOuterValuesTheyRead() throws {
        let thenB = M.subgraph([M.node("Mul", ["late", "late"], ["t"])], inputs: [], outputs: ["t"])
        let elseB = M.subgraph([], inputs: [], outputs: ["late"])
        let model = M.model([M.node("If", ["c"], ["y"], [M.graph("then_branch", thenB), M.graph("else_branch", elseB)]),
                             M.node("Neg", ["x"], ["late"])],
                            inputs: [M.value("x", [2]), M.value("c", .bool, [])], outputs: ["y"])
        let x = try HostTensor([1, -3] as [Float], shape: [2])
        XCTAssertEqual(try M.run(model, ["x": x, "c": HostTensor(scalar: true)])[0].floats, [1, 9])
        XCTAssertEqual(try M.run(model, ["x": x, "c": HostTensor(scalar: false)])[0].floats, [-1, 3])
    }

    /// A Loop with no carried values, only a scan output (the iteration numbers).
    func testLoopWithOnlyAScanOutput() throws {
        let body = M.subgraph([M.node("Identity", ["cond_in"], ["cond_out"]), M.node("Identity", ["i"], ["s"])],
                              inputs: [M.value("i", .int64, []), M.value("cond_in", .bool, [])], outputs: ["cond_out", "s"])
        let model = M.model([M.node("Loop", ["m", ""], ["scan"], [M.graph("body", body)])], inputs: [], outputs: ["scan"],
                            initializers: [("m", HostTensor(scalar: Int64(3)))])
        XCTAssertEqual(try M.run(model, [:])[0].scalars(as: Int64.self), [0, 1, 2])
    }

    /// If with a known condition inlines one branch; with a run-time condition it selects.
    func testIfInlinesOrSelects() throws {
        let thenB = M.subgraph([M.node("Mul", ["x", "x"], ["t"])], inputs: [], outputs: ["t"])
        let elseB = M.subgraph([M.node("Neg", ["x"], ["e"])], inputs: [], outputs: ["e"])
        let model = M.model([M.node("If", ["c"], ["y"], [M.graph("then_branch", thenB), M.graph("else_branch", elseB)])],
                            inputs: [M.value("x", [3]), M.value("c", .bool, [])], outputs: ["y"])
        let x = try HostTensor([1, -2, 3] as [Float], shape: [3])
        for c in [true, false] {
            let want: [Float] = c ? [1, 4, 9] : [-1, 2, -3]
            XCTAssertEqual(try M.run(model, ["x": x, "c": HostTensor(scalar: c)])[0].floats, want, "run-time condition \(c)")
            let known = try M.run(model, ["x": x, "c": HostTensor(scalar: c)], options: ONNXImportOptions(inputValues: ["c": HostTensor(scalar: c)]))
            XCTAssertEqual(known[0].floats, want, "import-time condition \(c)")
        }
        var mismatched = model
        mismatched.graph.node[0].attribute[1].g.node[0] = M.node("ReduceSum", ["x"], ["e"], [M.int("keepdims", 0)])
        XCTAssertThrowsError(try M.run(mismatched, ["x": x, "c": HostTensor(scalar: true)])) { e in
            XCTAssertTrue("\(e)".contains("needs equal known shapes"), "\(e)")
        }
    }

    /// QuantizeLinear / DequantizeLinear: per-axis int8 (round half to even, then clamp),
    /// float8 (saturating), and a blocked uint8 dequantization. References by hand.
    func testQuantizeAndDequantizeLinear() throws {
        var zp = ONNXTensor.proto(HostTensor([Int32(0), 10]), name: "zp", as: 3)   // int8 zero points, per channel
        zp.dims = [2]
        var model = M.model([
            M.node("QuantizeLinear", ["x", "scale", "zp"], ["q"], [M.int("axis", 0)]),
            M.node("DequantizeLinear", ["q", "scale", "zp"], ["dq"], [M.int("axis", 0)]),
            M.node("QuantizeLinear", ["x", "one", "f8zero"], ["q8"]),
        ], inputs: [M.value("x", [2, 3])], outputs: ["q", "dq", "q8"],
           initializers: [("scale", HostTensor([Float(0.5), 2])), ("one", HostTensor(scalar: Float(1)))], opset: 21)
        model.graph.initializer.append(zp)
        var f8 = Onnx_TensorProto(); f8.name = "f8zero"; f8.dataType = 17; f8.dims = []; f8.rawData = Data([0])
        model.graph.initializer.append(f8)
        let x = try HostTensor([0.25, 0.75, -100, 3, 5, 1000] as [Float], shape: [2, 3])
        let out = try M.run(model, ["x": x])
        // row 0 (scale 0.5, zp 0): 0.5 → 0 (half to even), 1.5 → 2, -200 → -128;
        // row 1 (scale 2, zp 10): 1.5 → 2 + 10, 2.5 → 2 + 10, 500 + 10 → 127.
        XCTAssertEqual(try out[0].scalars(as: Int32.self), [0, 2, -128, 12, 12, 127])
        XCTAssertEqual(out[1].floats, [0, 1, -64, 4, 4, 234])
        // float8 E4M3FN, saturating: 0.25, 0.75, -100 → -96, 3, 5, 1000 → 448.
        XCTAssertEqual(out[2].floats, [0.25, 0.75, -96, 3, 5, 448])

        // Blocked: axis 1 in blocks of 2 (the last block short), uint8 with zero point 128.
        let blocked = M.model([M.node("DequantizeLinear", ["q", "s", "z"], ["y"], [M.int("axis", 1), M.int("block_size", 2)])],
                              inputs: [M.value("q", .int32, [1, 3])], outputs: ["y"],
                              initializers: [("s", try HostTensor([Float(1), 10], shape: [1, 2])), ("z", try HostTensor([Int32(128), 0], shape: [1, 2]))],
                              opset: 21)
        let y = try M.run(blocked, ["q": try HostTensor([Int32(130), 126, 3], shape: [1, 3])])
        XCTAssertEqual(y[0].floats, [2, -2, 30])
    }

    /// Resize: bilinear half-pixel upsampling (the textbook 2×2 → 4×4 values) and nearest on
    /// integers (a pure gather, exact); the result is differentiable (gather and multiply).
    func testResizeLinearAndNearest() throws {
        let model = M.model([
            M.node("Resize", ["x", "", "scales"], ["lin"], [M.str("mode", "linear")]),
            M.node("Resize", ["xi", "", "", "sizes"], ["near"], [M.str("mode", "nearest"), M.str("coordinate_transformation_mode", "asymmetric"), M.str("nearest_mode", "floor")]),
        ], inputs: [M.value("x", [1, 1, 2, 2]), M.value("xi", .int32, [1, 3])], outputs: ["lin", "near"],
           initializers: [("scales", HostTensor([Float(1), 1, 2, 2])), ("sizes", HostTensor([Int64(1), 7]))], opset: 19)
        let out = try M.run(model, ["x": try HostTensor([1, 2, 3, 4] as [Float], shape: [1, 1, 2, 2]),
                                    "xi": try HostTensor([Int32(10), 20, 30], shape: [1, 3])])
        XCTAssertEqual(out[0].shape, [1, 1, 4, 4])
        XCTAssertEqual(out[0].floats, [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4])
        // 3 → 7 with scale 7/3, asymmetric floor: source index floor(o · 3 / 7).
        XCTAssertEqual(try out[1].scalars(as: Int32.self), [10, 10, 10, 20, 20, 30, 30])
    }

    /// A float16 node's outputs hold float16 values: 1 + 2^-11 rounds to 1 (a tie, to even), so
    /// (x + y) - x is 0, not 2^-11 as in float32.
    func testHalfPrecisionNodesRoundTheirOutputs() throws {
        var model = M.model([M.node("Add", ["x", "y"], ["s"]), M.node("Sub", ["s", "x"], ["d"])],
                            inputs: [M.value("x", [1]), M.value("y", [1])], outputs: ["d"])
        for k in 0..<2 { model.graph.input[k].type.tensorType.elemType = 10 }
        let out = try M.run(model, ["x": HostTensor([Float(1)]), "y": HostTensor([Float(1.0 / 2048)])])
        XCTAssertEqual(out[0].floats, [0])
        for k in 0..<2 { model.graph.input[k].type.tensorType.elemType = 1 }
        XCTAssertEqual(try M.run(model, ["x": HostTensor([Float(1)]), "y": HostTensor([Float(1.0 / 2048)])])[0].floats, [1.0 / 2048])
    }

    /// RotaryEmbedding rotates (x1, x2) pairs: halves, or even/odd features when interleaved.
    /// With cos = [0, 1], sin = [1, 0] the first pair turns by 90° and the second stays.
    func testRotaryEmbeddingRotatesPairs() throws {
        for (interleaved, want) in [(0, [Float(-3), 2, 1, 4]), (1, [-2, 1, 3, 4])] {
            let model = M.model([M.node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"], [M.int("interleaved", interleaved)])],
                                inputs: [M.value("x", [1, 1, 1, 4])], outputs: ["y"],
                                initializers: [("cos", try HostTensor([Float(9), 9, 0, 1], shape: [2, 2])), ("sin", try HostTensor([Float(9), 9, 1, 0], shape: [2, 2])),
                                               ("pos", try HostTensor([Int64(1)], shape: [1, 1]))], opset: 23)
            let out = try M.run(model, ["x": try HostTensor([1, 2, 3, 4] as [Float], shape: [1, 1, 1, 4])])
            XCTAssertEqual(out[0].floats, want, "interleaved \(interleaved)")
        }
    }

    /// CenterCropPad crops and pads centred, the odd element at the end.
    func testCenterCropPad() throws {
        let model = M.model([M.node("CenterCropPad", ["x", "shape"], ["y"])], inputs: [M.value("x", [2, 5])], outputs: ["y"],
                            initializers: [("shape", HostTensor([Int64(5), 2]))], opset: 18)
        let out = try M.run(model, ["x": try HostTensor((0..<10).map { Float($0) }, shape: [2, 5])])
        XCTAssertEqual(out[0].shape, [5, 2])
        // rows: 3 padded rows split 1 before, 2 after; columns: 5 → 2 keeps columns 1...2.
        XCTAssertEqual(out[0].floats, [0, 0, 1, 2, 6, 7, 0, 0, 0, 0])
    }

    /// TopK: ties go to the lower index, and values at the far end (−∞ here) are still picked
    /// in index order once nothing else is left.
    func testTopKTiesAndInfinities() throws {
        let model = M.model([
            M.node("TopK", ["x", "k4"], ["v", "i"], [M.int("axis", 1)]),
            M.node("TopK", ["x", "k3"], ["sv", "si"], [M.int("axis", 1), M.int("largest", 0)]),
        ], inputs: [M.value("x", [1, 5])], outputs: ["v", "i", "sv", "si"],
           initializers: [("k4", HostTensor([Int64(4)])), ("k3", HostTensor([Int64(3)]))])
        let out = try M.run(model, ["x": try HostTensor([-.infinity, 3, 3, -.infinity, 1] as [Float], shape: [1, 5])])
        XCTAssertEqual(out[0].floats, [3, 3, 1, -.infinity])
        XCTAssertEqual(try out[1].scalars(as: Int64.self), [1, 2, 4, 0])
        XCTAssertEqual(out[2].floats, [-.infinity, -.infinity, 1])
        XCTAssertEqual(try out[3].scalars(as: Int64.self), [0, 3, 4])
    }

    /// Einsum: a three-operand chain and an implicit-output trace, against loops.
    func testEinsumChainAndTrace() throws {
        let (i, j, k, l) = (2, 3, 4, 2)
        let a = M.values(i * j, seed: 91), b = M.values(j * k, seed: 92), c = M.values(k * l, seed: 93), sq = M.values(9, seed: 94)
        let model = M.model([M.node("Einsum", ["a", "b", "c"], ["y"], [M.str("equation", "ij,jk,kl->il")]),
                             M.node("Einsum", ["s"], ["tr"], [M.str("equation", "ii")])],
                            inputs: [M.value("a", [i, j]), M.value("b", [j, k]), M.value("c", [k, l]), M.value("s", [3, 3])], outputs: ["y", "tr"], opset: 12)
        let out = try M.run(model, ["a": try HostTensor(a, shape: [i, j]), "b": try HostTensor(b, shape: [j, k]),
                                    "c": try HostTensor(c, shape: [k, l]), "s": try HostTensor(sq, shape: [3, 3])])
        var want = [Double](repeating: 0, count: i * l)
        for p in 0..<i { for q in 0..<l { for r in 0..<j { for t in 0..<k {
            want[p * l + q] += Double(a[p * j + r]) * Double(b[r * k + t]) * Double(c[t * l + q])
        } } } }
        XCTAssertEqual(out[0].shape, [i, l])
        for (g, w) in zip(out[0].doubles, want) { XCTAssertEqual(g, w, accuracy: 1e-5) }
        XCTAssertEqual(out[1].doubles[0], Double(sq[0]) + Double(sq[4]) + Double(sq[8]), accuracy: 1e-6)
    }

    /// GatherND with batch_dims, ScatterND with repeated indices under each reduction, and
    /// ScatterElements with a negative index; values by hand.
    func testGatherNDAndScatters() throws {
        let data = try HostTensor([0, 1, 2, 3, 4, 5, 6, 7] as [Float], shape: [2, 2, 2])
        var nodes = [M.node("GatherND", ["d", "gi"], ["g"], [M.int("batch_dims", 1)])]
        var outputs = ["g"]
        for r in ["none", "add", "mul", "max", "min"] {
            nodes.append(M.node("ScatterND", ["d", "si", "su"], ["s_" + r], [M.str("reduction", r)]))
            outputs.append("s_" + r)
        }
        nodes.append(M.node("ScatterElements", ["e", "ei", "eu"], ["se"], [M.int("axis", 1)]))
        outputs.append("se")
        let model = M.model(nodes, inputs: [M.value("d", [2, 2, 2])], outputs: outputs,
                            initializers: [("gi", try HostTensor([Int64(1), 0], shape: [2, 1])),           // batch 0 → row 1, batch 1 → row 0
                                           ("si", try HostTensor([Int64(1), 1], shape: [2, 1])),           // row 1 twice
                                           ("su", try HostTensor([10, 20, 30, 40, 50, 60, 70, 80] as [Float], shape: [2, 2, 2])),
                                           ("e", try HostTensor([Float(1), 2, 3], shape: [1, 3])), ("ei", try HostTensor([Int64(-1)], shape: [1, 1])),
                                           ("eu", try HostTensor([Float(9)], shape: [1, 1]))], opset: 18)
        let out = try M.run(model, ["d": data])
        XCTAssertEqual(out[0].floats, [2, 3, 4, 5])
        XCTAssertEqual(out[1].floats, [0, 1, 2, 3, 50, 60, 70, 80], "none: the last update wins")
        XCTAssertEqual(out[2].floats, [0, 1, 2, 3, 64, 85, 106, 127], "add")
        XCTAssertEqual(out[3].floats, [0, 1, 2, 3, 2000, 6000, 12600, 22400], "mul")
        XCTAssertEqual(out[4].floats, [0, 1, 2, 3, 50, 60, 70, 80], "max")
        XCTAssertEqual(out[5].floats, [0, 1, 2, 3, 4, 5, 6, 7], "min")
        XCTAssertEqual(out[6].floats, [1, 2, 9])
    }

    /// HannWindow, CumProd (exclusive, reverse) and LpPool (p = 2, padded), by hand.
    func testWindowCumProdAndLpPool() throws {
        let model = M.model([
            M.node("HannWindow", ["n"], ["w"]),
            M.node("CumProd", ["x", "ax"], ["cp"], [M.int("exclusive", 1), M.int("reverse", 1)]),
            M.node("LpPool", ["img"], ["lp"], [M.ints("kernel_shape", [2]), M.ints("pads", [1, 0])]),
        ], inputs: [M.value("x", [4]), M.value("img", [1, 1, 2])], outputs: ["w", "cp", "lp"],
           initializers: [("n", HostTensor(scalar: Int64(4))), ("ax", HostTensor(scalar: Int64(0)))], opset: 18)
        let out = try M.run(model, ["x": try HostTensor([2, 3, 4, 5] as [Float], shape: [4]), "img": try HostTensor([3, 4] as [Float], shape: [1, 1, 2])])
        for (g, w) in zip(out[0].doubles, [0, 0.5, 1, 0.5]) { XCTAssertEqual(g, w, accuracy: 1e-7) }
        XCTAssertEqual(out[1].floats, [60, 20, 5, 1])
        XCTAssertEqual(out[2].floats, [3, 5])   // windows (pad, 3) and (3, 4): √9, √25
    }

    /// AffineGrid: the identity transform gives the normalized coordinates (x, y) themselves.
    func testAffineGridIdentity() throws {
        let model = M.model([M.node("AffineGrid", ["theta", "size"], ["grid"], [M.int("align_corners", 1)])],
                            inputs: [M.value("theta", [1, 2, 3])], outputs: ["grid"],
                            initializers: [("size", HostTensor([Int64(1), 1, 2, 3]))], opset: 20)
        let out = try M.run(model, ["theta": try HostTensor([1, 0, 0, 0, 1, 0] as [Float], shape: [1, 2, 3])])
        XCTAssertEqual(out[0].shape, [1, 2, 3, 2])
        XCTAssertEqual(out[0].floats, [-1, -1, 0, -1, 1, -1, -1, 1, 0, 1, 1, 1])
    }

    /// GridSample, bilinear with zero padding: a pixel centre, the middle of four pixels, and a
    /// corner half outside on both axes (a quarter of the corner pixel).
    func testGridSampleBilinearZeros() throws {
        let model = M.model([M.node("GridSample", ["x", "grid"], ["y"], [M.str("mode", "linear")])],
                            inputs: [M.value("x", [1, 1, 2, 2]), M.value("grid", [1, 1, 3, 2])], outputs: ["y"], opset: 20)
        let out = try M.run(model, ["x": try HostTensor([1, 2, 3, 4] as [Float], shape: [1, 1, 2, 2]),
                                    "grid": try HostTensor([-0.5, -0.5, 0, 0, -1, -1] as [Float], shape: [1, 1, 3, 2])])
        XCTAssertEqual(out[0].shape, [1, 1, 1, 3])
        XCTAssertEqual(out[0].floats, [1, 2.5, 0.25])
    }

    /// BitShift: uint8 wraps at 8 bits; a signed right shift is arithmetic, and a count at or
    /// past the width gives -1 for negative values; BitwiseNot of uint8.
    func testBitShiftAndBitwiseNot() throws {
        var model = M.model([M.node("BitShift", ["u", "k"], ["l"], [M.str("direction", "LEFT")]),
                             M.node("BitwiseNot", ["u"], ["n"]),
                             M.node("BitShift", ["s", "k"], ["r"], [M.str("direction", "RIGHT")])],
                            inputs: [M.value("u", .int32, [3]), M.value("s", .int32, [3]), M.value("k", .int32, [3])], outputs: ["l", "n", "r"], opset: 18)
        model.graph.input[0].type.tensorType.elemType = 2    // uint8
        model.graph.input[1].type.tensorType.elemType = 3    // int8
        model.graph.input[2].type.tensorType.elemType = 2
        let out = try M.run(model, ["u": HostTensor([Int32(0xF1), 3, 255]), "s": HostTensor([Int32(-8), -1, 100]), "k": HostTensor([Int32(4), 1, 9])])
        XCTAssertEqual(try out[0].scalars(as: Int32.self), [0x10, 6, 0])
        XCTAssertEqual(try out[1].scalars(as: Int32.self), [0x0E, 252, 0])
        XCTAssertEqual(try out[2].scalars(as: Int32.self), [-1, -1, 0])
    }

    /// A cache of the wrong rank is an error naming the node (the fuzzer found it crashing).
    func testAttentionRejectsAMisshapenCache() throws {
        let model = M.model([M.node("Attention", ["q", "q", "q", "", "pk", "pk"], ["y"], name: "attn")],
                            inputs: [M.value("q", [1, 2, 3, 4]), M.value("pk", [2, 4])], outputs: ["y"], opset: 23)
        XCTAssertThrowsError(try ONNXImporter.importModel(model)) { e in
            XCTAssertTrue("\(e)".contains("attn") && "\(e)".contains("past_key and past_value must have rank 4"), "\(e)")
        }
    }

    /// LRN over a window of 3 channels, clipped at the edges: x / (1 + Σx²).
    func testLRN() throws {
        let model = M.model([M.node("LRN", ["x"], ["y"], [M.int("size", 3), M.float("alpha", 3), M.float("beta", 1), M.float("bias", 1)])],
                            inputs: [M.value("x", [1, 3, 1, 1])], outputs: ["y"])
        let y = try M.run(model, ["x": try HostTensor([1, 2, 3] as [Float], shape: [1, 3, 1, 1])])[0].doubles
        for (g, w) in zip(y, [1.0 / 6, 2.0 / 15, 3.0 / 14]) { XCTAssertEqual(g, w, accuracy: 1e-6) }
    }

    func testErrorsNameTheNode() throws {
        func expect(_ model: Onnx_ModelProto, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try ONNXImporter.importModel(model), line: line) { e in
                XCTAssertTrue("\(e)".contains(fragment), "\(e)", line: line)
            }
        }
        let x = [M.value("x", [2, 3])]
        expect(M.model([M.node("FancyOp", ["x"], ["y"], name: "my_node")], inputs: x, outputs: ["y"]), "op 'FancyOp' is not supported")
        expect(M.model([M.node("FancyOp", ["x"], ["y"], name: "my_node")], inputs: x, outputs: ["y"]), "my_node")
        expect(M.model([M.node("Relu", ["x"], ["y"], name: "a"), M.node("Relu", ["y"], ["y"], name: "b")], inputs: x, outputs: ["y"]),
               "already defined")
        expect(M.model([M.node("Add", ["x", "b"], ["a"], name: "n1"), M.node("Relu", ["a"], ["b"], name: "n2")], inputs: x, outputs: ["b"]),
               "cycle")
        expect(M.model([M.node("Add", ["x", "ghost"], ["y"], name: "n1")], inputs: x, outputs: ["y"]), "input 'ghost' is not produced")
        expect(M.model([M.node("Relu", ["x"], ["y"])], inputs: x, outputs: ["nothing"]), "graph output 'nothing'")
        expect(M.model([M.node("Reshape", ["x", "s"], ["y"], name: "r")], inputs: x + [M.value("s", .int64, [2])], outputs: ["y"]),
               "must be known at import time")
        expect(M.model([M.node("MatMul", ["x", "x"], ["y"], name: "mm")], inputs: x, outputs: ["y"]), "inner dimensions differ")
        expect(M.model([M.node("Relu", ["x"], ["y"], name: "n")], inputs: x, outputs: ["y"], opset: 99), "opset 99")
        var ml = M.model([M.node("Relu", ["x"], ["y"])], inputs: x, outputs: ["y"])
        ml.graph.node[0].domain = "com.microsoft"
        expect(ml, "only the default ONNX domain")
        // Shapes that would need absurd allocations are refused before anything is allocated.
        expect(M.model([M.node("ConstantOfShape", ["s"], ["y"], name: "c")], inputs: x, outputs: ["y"],
                       initializers: [("s", HostTensor([Int64(1) << 40, 1 << 40]))]), "elements")
        expect(M.model([M.node("Tile", ["x", "r"], ["y"], name: "t")], inputs: x, outputs: ["y"],
                       initializers: [("r", HostTensor([Int64(1) << 30, 1 << 30]))]), "elements")
        expect(M.model([M.node("Expand", ["x", "s"], ["y"], name: "e")], inputs: x, outputs: ["y"],
                       initializers: [("s", HostTensor([Int64(1) << 33, 2, 3]))]), "elements")
        expect(M.model([M.node("Relu", ["x"], ["y"], name: "r")], inputs: [M.value("x", [1 << 30, 1 << 30, 1 << 30])], outputs: ["y"]),
               "more than")
        expect(M.model([M.node("Unsqueeze", ["x", "ax"], ["y"], name: "u")], inputs: x, outputs: ["y"],
                       initializers: [("ax", HostTensor((0..<40).map { Int64($0) }))]), "exceeds the limits")
        expect(M.model([M.node("Add", ["x", "t"], ["y"], name: "a"), M.node("Reshape", ["y", "s"], ["z"], name: "r")],
                       inputs: [M.value("x", [1 << 30, 1]), M.value("t", [1, 1 << 30])], outputs: ["z"],
                       initializers: [("s", HostTensor([Int64(-1)]))]), "more than")
        expect(M.model([M.node("Range", ["a", "b", "c"], ["y"], name: "r")], inputs: x, outputs: ["y"],
                       initializers: [("a", HostTensor(scalar: Int64(0))), ("b", HostTensor(scalar: Int64.max)), ("c", HostTensor(scalar: Int64(1)))]),
               "limit")
    }

    func testTruncatedAndGarbageModels() throws {
        let model = M.model([M.node("Relu", ["x"], ["y"])], inputs: [M.value("x", [2])], outputs: ["y"],
                            initializers: [("w", HostTensor(M.values(100, seed: 1)))])
        let bytes = try ONNXModelFile.encode(model)
        for cut in [1, 7, bytes.count / 2, bytes.count - 1] {
            XCTAssertThrowsError(try ONNXModelFile.decode(bytes.prefix(cut))) { e in
                XCTAssertTrue("\(e)".contains("ONNX"), "\(e)")
            }
        }
        XCTAssertThrowsError(try ONNXModelFile.decode(Data([0xFF, 0xFF, 0xFF, 0xFF, 0x0F])))
        XCTAssertThrowsError(try ONNXModelFile.decode(Data())) { e in XCTAssertTrue("\(e)".contains("no graph"), "\(e)") }
    }

    func testInitializersAsVariablesCanBeFineTuned() throws {
        // y = tanh(x·w + b) in float64; the loss sum(y) differentiated w.r.t. w by the imported graph
        // versus central finite differences written here.
        let w = [0.3, -0.2, 0.5, 0.1, -0.4, 0.7], b = [0.05, -0.1]
        let x = [0.2, -0.7, 1.1]
        let model = M.model([M.node("MatMul", ["x", "w"], ["m"]), M.node("Add", ["m", "b"], ["a"]), M.node("Tanh", ["a"], ["y"])],
                            inputs: [M.value("x", .float64, [1, 3])], outputs: ["y"],
                            initializers: [("w", try HostTensor(w, shape: [3, 2])), ("b", HostTensor(b))])
        let m = try ONNXImporter.importModel(model, options: ONNXImportOptions(initializersAsVariables: true))
        guard case .variable = m.initializers[0].tensor.node.op else { return XCTFail("expected a variable") }
        let loss = m.outputs[0].tensor.sum()
        let grads = try m.graph.gradients(of: loss, with: m.initializers.map(\.tensor))
        let s = try Session(m.graph)
        let g = try s.run(grads, feeds: [m.inputs[0].tensor: try HostTensor(x, shape: [1, 3])])
        func f(_ w: [Double], _ b: [Double]) -> Double {
            var total = 0.0
            for j in 0..<2 {
                var a: Double = b[j]
                for i in 0..<3 { a += x[i] * w[i * 2 + j] }
                total += Foundation.tanh(a)
            }
            return total
        }
        let h = 1e-6
        for i in 0..<6 {
            var wp = w, wm = w
            wp[i] += h; wm[i] -= h
            XCTAssertEqual(g[0].doubles[i], (f(wp, b) - f(wm, b)) / (2 * h), accuracy: 1e-7)
        }
        for j in 0..<2 {
            var bp = b, bm = b
            bp[j] += h; bm[j] -= h
            XCTAssertEqual(g[1].doubles[j], (f(w, bp) - f(w, bm)) / (2 * h), accuracy: 1e-7)
        }
    }

    func testComposedGatherElementsCumSumAndTrilu() throws {
        let model = M.model([
            M.node("GatherElements", ["x", "idx"], ["ge"], [M.int("axis", 1)]),
            M.node("CumSum", ["x", "ax"], ["cs"], [M.int("reverse", 1)]),
            M.node("Trilu", ["x"], ["tl"], [M.int("upper", 0)]),
        ], inputs: [M.value("x", [2, 3])], outputs: ["ge", "cs", "tl"],
           initializers: [("idx", try HostTensor([2, -3, 1, 1] as [Int64], shape: [2, 2])), ("ax", HostTensor(scalar: Int64(1)))])
        let x: [Float] = [1, 2, 3, 4, 5, 6]
        let out = try M.run(model, ["x": try HostTensor(x, shape: [2, 3])])
        XCTAssertEqual(out[0].floats, [3, 1, 5, 5])            // x[i][idx[i][j]], -3 wraps to 0
        XCTAssertEqual(out[1].floats, [6, 5, 3, 15, 11, 6])     // reverse running sums along each row
        XCTAssertEqual(out[2].floats, [1, 0, 0, 4, 5, 0])       // lower triangle
    }

    func testDilatedPoolingAndPadModes() throws {
        let x = (0..<16).map { Float($0) }
        let model = M.model([
            M.node("MaxPool", ["x"], ["mp"], [M.ints("kernel_shape", [2, 2]), M.ints("dilations", [2, 2])]),
            M.node("Pad", ["x", "pads"], ["refl"], [{ var a = Onnx_AttributeProto(); a.name = "mode"; a.type = .string; a.s = Data("reflect".utf8); return a }()]),
        ], inputs: [M.value("x", [1, 1, 4, 4])], outputs: ["mp", "refl"],
           initializers: [("pads", HostTensor([Int64(0), 0, 1, 0, 0, 0, 0, 2]))])
        let out = try M.run(model, ["x": try HostTensor(x, shape: [1, 1, 4, 4])])
        // Dilation 2: window {i, i+2} × {j, j+2}; the max is x[i+2][j+2].
        XCTAssertEqual(out[0].floats, [10, 11, 14, 15])
        XCTAssertEqual(out[1].shape, [1, 1, 5, 6])
        // First padded row reflects row 1; the last two columns reflect columns 2 and 1.
        XCTAssertEqual(Array(out[1].floats[0..<6]), [4, 5, 6, 7, 6, 5])
    }
}

