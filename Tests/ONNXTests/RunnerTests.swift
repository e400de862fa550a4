import Foundation
import XCTest
import Graph
@testable import ONNX

/// `ONNXRunner` (what `symgraph run` and `symgraph gradients` do) against Float64 references.
final class RunnerTests: XCTestCase {
    /// y1 = sigmoid(x·w), y2 = sum(x²) over axis 1; L = Σ y1·c1 + Σ y2·c2.
    private let w = [0.4, -0.3, 0.2, 0.9, -0.5, 0.1]
    private let x = [0.3, -1.2, 0.8, 0.5, 0.0, -0.6]
    private let c1 = [1.0, -2.0, 0.5, 0.25], c2 = [3.0, -1.0]

    private func model() throws -> Onnx_ModelProto {
        M.model([
            M.node("MatMul", ["x", "w"], ["m"]), M.node("Sigmoid", ["m"], ["y1"]),
            M.node("Mul", ["x", "x"], ["sq"]), M.node("ReduceSum", ["sq", "axes"], ["y2"], [M.int("keepdims", 0)]),
        ], inputs: [M.value("x", .float64, [2, 3])], outputs: ["y1", "y2"],
           initializers: [("w", try HostTensor(w, shape: [3, 2])), ("axes", HostTensor([Int64(1)]))])
    }

    private func loss(_ x: [Double], _ w: [Double]) -> Double {
        var l = 0.0
        for i in 0..<2 {
            for j in 0..<2 {
                var a = 0.0
                for k in 0..<3 { a += x[i * 3 + k] * w[k * 2 + j] }
                l += c1[i * 2 + j] / (1 + Foundation.exp(-a))
            }
            var s = 0.0
            for k in 0..<3 { s += x[i * 3 + k] * x[i * 3 + k] }
            l += c2[i] * s
        }
        return l
    }

    func testRunMatchesInputsByNameThenPosition() throws {
        let m = try model()
        let xv = try HostTensor(x, shape: [2, 3])
        XCTAssertEqual(try ONNXRunner.matchInputs([("", xv)], to: m).keys.sorted(), ["x"])
        XCTAssertThrowsError(try ONNXRunner.matchInputs([("x", xv), ("extra", xv)], to: m))
        let out = try ONNXRunner.run(m, inputs: ["x": xv])
        XCTAssertEqual(out.map(\.name), ["y1", "y2"])
        XCTAssertEqual(out[1].value.doubles[0], 0.09 + 1.44 + 0.64, accuracy: 1e-12)
        XCTAssertThrowsError(try ONNXRunner.run(m, inputs: [:])) { e in XCTAssertTrue("\(e)".contains("no value for the model's input 'x'"), "\(e)") }
    }

    func testSymbolicBatchShapeArithmeticFoldsWhenRunning() throws {
        // x.view(x.size(0), -1) as PyTorch exports it, with a symbolic batch dimension.
        let m = M.model([
            M.node("Shape", ["x"], ["s"], name: "shape"),
            M.node("Gather", ["s", "zero"], ["n"]),
            M.node("Unsqueeze", ["n", "axes0"], ["n1"]),
            M.node("Concat", ["n1", "minus1"], ["target"], [M.int("axis", 0)]),
            M.node("Reshape", ["x", "target"], ["y"]),
        ], inputs: [M.value("x", .float64, [nil, 2, 3])], outputs: ["y"],
           initializers: [("zero", HostTensor(scalar: Int64(0))), ("axes0", HostTensor([Int64(0)])), ("minus1", HostTensor([Int64(-1)]))])
        XCTAssertThrowsError(try ONNXImporter.importModel(m)) { e in
            XCTAssertTrue("\(e)".contains("Shape of a tensor with unknown dimensions"), "\(e)")
            XCTAssertTrue("\(e)".contains("shape"), "names the node: \(e)")
        }
        let xv = try HostTensor((0..<12).map { Double($0) }, shape: [2, 2, 3])
        let out = try ONNXRunner.run(m, inputs: ["x": xv])
        XCTAssertEqual(out[0].value.shape, [2, 6])
        XCTAssertEqual(out[0].value.doubles, (0..<12).map { Double($0) })
    }

    func testGradientsMatchFiniteDifferences() throws {
        let grads = try ONNXRunner.gradients(try model(), inputs: ["x": try HostTensor(x, shape: [2, 3])],
                                             cotangents: ["y1": try HostTensor(c1, shape: [2, 2]), "y2": HostTensor(c2)])
        XCTAssertEqual(grads.map(\.name), ["x", "w"], "float inputs, then float initializers (not the int64 axes)")
        let h = 1e-6
        for i in 0..<6 {
            var p = x, q = x
            p[i] += h; q[i] -= h
            XCTAssertEqual(grads[0].value.doubles[i], (loss(p, w) - loss(q, w)) / (2 * h), accuracy: 1e-6)
            var a = w, b = w
            a[i] += h; b[i] -= h
            XCTAssertEqual(grads[1].value.doubles[i], (loss(x, a) - loss(x, b)) / (2 * h), accuracy: 1e-6)
        }
    }

    /// ConvTranspose (strides, asymmetric pads, output_padding, dilations, groups, bias) against a
    /// Float64 scatter loop written from the ONNX definition, and its gradients against central
    /// finite differences of that loop.
    func testConvTransposeMatchesAScatterLoopAndFiniteDifferences() throws {
        let (n, cin, h, w, coutPerGroup, groups, kh, kw) = (1, 4, 3, 2, 3, 2, 2, 3)
        let s = (2, 1), d = (1, 2), pads = (1, 0, 0, 1), outPad = (1, 0)   // pads: top, left, bottom, right
        let ho = s.0 * (h - 1) + outPad.0 + (kh - 1) * d.0 + 1 - pads.0 - pads.2
        let wo = s.1 * (w - 1) + outPad.1 + (kw - 1) * d.1 + 1 - pads.1 - pads.3
        let cout = coutPerGroup * groups
        func reference(_ x: [Double], _ f: [Double], _ b: [Double]) -> [Double] {
            var y = [Double](repeating: 0, count: n * cout * ho * wo)
            for i in 0..<(n * cout * ho * wo) { y[i] = b[(i / (ho * wo)) % cout] }
            for bn in 0..<n { for ci in 0..<cin { for ih in 0..<h { for iw in 0..<w {
                let g = ci / (cin / groups)
                for co in 0..<coutPerGroup { for a in 0..<kh { for c in 0..<kw {
                    let oh = ih * s.0 + a * d.0 - pads.0, ow = iw * s.1 + c * d.1 - pads.1
                    guard oh >= 0, oh < ho, ow >= 0, ow < wo else { continue }
                    y[((bn * cout + g * coutPerGroup + co) * ho + oh) * wo + ow] +=
                        x[((bn * cin + ci) * h + ih) * w + iw] * f[((ci * coutPerGroup + co) * kh + a) * kw + c]
                } } }
            } } } }
            return y
        }
        let x = M.values(n * cin * h * w, seed: 41).map(Double.init)
        let f = M.values(cin * coutPerGroup * kh * kw, seed: 42).map(Double.init)
        let b = M.values(cout, seed: 43).map(Double.init)
        let cot = M.values(n * cout * ho * wo, seed: 44).map(Double.init)
        let model = M.model([M.node("ConvTranspose", ["x", "f", "b"], ["y"], [
            M.ints("strides", [s.0, s.1]), M.ints("dilations", [d.0, d.1]), M.ints("pads", [pads.0, pads.1, pads.2, pads.3]),
            M.ints("output_padding", [outPad.0, outPad.1]), M.int("group", groups),
        ])], inputs: [M.value("x", .float64, [n, cin, h, w])], outputs: ["y"],
            initializers: [("f", try HostTensor(f, shape: [cin, coutPerGroup, kh, kw])), ("b", try HostTensor(b, shape: [cout]))])
        let xv = try HostTensor(x, shape: [n, cin, h, w])
        let y = try ONNXRunner.run(model, inputs: ["x": xv])[0].value
        XCTAssertEqual(y.shape, [n, cout, ho, wo])
        for (got, want) in zip(y.doubles, reference(x, f, b)) { XCTAssertEqual(got, want, accuracy: 1e-12) }

        let grads = try ONNXRunner.gradients(model, inputs: ["x": xv], cotangents: ["y": try HostTensor(cot, shape: [n, cout, ho, wo])])
        XCTAssertEqual(grads.map(\.name), ["x", "f", "b"])
        func loss(_ x: [Double], _ f: [Double], _ b: [Double]) -> Double { zip(reference(x, f, b), cot).reduce(0) { $0 + $1.0 * $1.1 } }
        let e = 1e-6
        func check(_ values: [Double], _ got: HostTensor, _ at: ([Double]) -> Double, _ what: String) {
            for i in 0..<values.count {
                var p = values, q = values
                p[i] += e; q[i] -= e
                XCTAssertEqual(got.doubles[i], (at(p) - at(q)) / (2 * e), accuracy: 1e-6, "\(what)[\(i)]")
            }
        }
        check(x, grads[0].value, { loss($0, f, b) }, "dx")
        check(f, grads[1].value, { loss(x, $0, b) }, "df")
        check(b, grads[2].value, { loss(x, f, $0) }, "db")
    }
}
