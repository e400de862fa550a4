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

    /// LSTM (bidirectional, layout 1, peepholes, initial states) and GRU (reverse,
    /// linear_before_reset) against Float64 loops written from the ONNX equations, and the
    /// LSTM's gradients against central finite differences of its loop.
    func testRecurrentOpsMatchTheirEquations() throws {
        let (seq, batch, inSize, h) = (3, 2, 3, 2)
        func sig(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
        func mv(_ m: [Double], _ row: Int, _ v: [Double], cols: Int) -> Double { (0..<cols).reduce(0) { $0 + m[row * cols + $1] * v[$1] } }
        // LSTM, one direction, on x[t][b][i]; W [4h, in], R [4h, h], B [8h], P [3h] (i, o, f).
        func lstm(_ xs: [[[Double]]], _ W: [Double], _ R: [Double], _ B: [Double], _ P: [Double], _ h0: [[Double]], _ c0: [[Double]],
                  reverse: Bool) -> (ys: [[[Double]]], h: [[Double]], c: [[Double]]) {
            var H = h0, C = c0
            var ys = [[[Double]]](repeating: [], count: xs.count)
            for step in 0..<xs.count {
                let t = reverse ? xs.count - 1 - step : step
                for b in 0..<batch {
                    func gate(_ k: Int, _ j: Int) -> Double {
                        mv(W, k * h + j, xs[t][b], cols: inSize) + mv(R, k * h + j, H[b], cols: h) + B[k * h + j] + B[4 * h + k * h + j]
                    }
                    var newC = [Double](repeating: 0, count: h), newH = newC
                    for j in 0..<h {
                        let i = sig(gate(0, j) + P[j] * C[b][j]), f = sig(gate(2, j) + P[2 * h + j] * C[b][j])
                        newC[j] = f * C[b][j] + i * Foundation.tanh(gate(3, j))
                        newH[j] = sig(gate(1, j) + P[h + j] * newC[j]) * Foundation.tanh(newC[j])
                    }
                    C[b] = newC; H[b] = newH
                }
                ys[t] = H
            }
            return (ys, H, C)
        }
        let xv = M.values(batch * seq * inSize, seed: 51).map(Double.init)            // layout 1: [batch, seq, in]
        let W = M.values(2 * 4 * h * inSize, seed: 52).map(Double.init), R = M.values(2 * 4 * h * h, seed: 53).map(Double.init)
        let B = M.values(2 * 8 * h, seed: 54).map(Double.init), P = M.values(2 * 3 * h, seed: 55).map(Double.init)
        let H0 = M.values(batch * 2 * h, seed: 56).map(Double.init), C0 = M.values(batch * 2 * h, seed: 57).map(Double.init)  // [batch, dirs, h]
        func reference(_ xv: [Double], _ W: [Double]) -> [Double] {   // Y in layout 1: [batch, seq, dirs, h]
            let xs = (0..<seq).map { t in (0..<batch).map { b in Array(xv[((b * seq + t) * inSize)..<((b * seq + t + 1) * inSize)]) } }
            var y = [Double](repeating: 0, count: batch * seq * 2 * h)
            for d in 0..<2 {
                let part = { (a: [Double], n: Int) in Array(a[(d * n)..<((d + 1) * n)]) }
                let h0 = (0..<batch).map { b in Array(H0[((b * 2 + d) * h)..<((b * 2 + d + 1) * h)]) }
                let c0 = (0..<batch).map { b in Array(C0[((b * 2 + d) * h)..<((b * 2 + d + 1) * h)]) }
                let r = lstm(xs, part(W, 4 * h * inSize), part(R, 4 * h * h), part(B, 8 * h), part(P, 3 * h), h0, c0, reverse: d == 1)
                for t in 0..<seq { for b in 0..<batch { for j in 0..<h { y[((b * seq + t) * 2 + d) * h + j] = r.ys[t][b][j] } } }
            }
            return y
        }
        let model = M.model([M.node("LSTM", ["x", "W", "R", "B", "", "h0", "c0", "P"], ["y"], [
            M.int("hidden_size", h), M.str("direction", "bidirectional"), M.int("layout", 1)])],
            inputs: [M.value("x", .float64, [batch, seq, inSize])], outputs: ["y"],
            initializers: [("W", try HostTensor(W, shape: [2, 4 * h, inSize])), ("R", try HostTensor(R, shape: [2, 4 * h, h])),
                           ("B", try HostTensor(B, shape: [2, 8 * h])), ("P", try HostTensor(P, shape: [2, 3 * h])),
                           ("h0", try HostTensor(H0, shape: [batch, 2, h])), ("c0", try HostTensor(C0, shape: [batch, 2, h]))])
        let x = try HostTensor(xv, shape: [batch, seq, inSize])
        let y = try ONNXRunner.run(model, inputs: ["x": x])[0].value
        XCTAssertEqual(y.shape, [batch, seq, 2, h])
        for (got, want) in zip(y.doubles, reference(xv, W)) { XCTAssertEqual(got, want, accuracy: 1e-12) }

        let cot = M.values(batch * seq * 2 * h, seed: 58).map(Double.init)
        let grads = try ONNXRunner.gradients(model, inputs: ["x": x], cotangents: ["y": try HostTensor(cot, shape: [batch, seq, 2, h])])
        func loss(_ xv: [Double], _ W: [Double]) -> Double { zip(reference(xv, W), cot).reduce(0) { $0 + $1.0 * $1.1 } }
        let e = 1e-6
        for i in 0..<xv.count {
            var p = xv, q = xv; p[i] += e; q[i] -= e
            XCTAssertEqual(grads[0].value.doubles[i], (loss(p, W) - loss(q, W)) / (2 * e), accuracy: 1e-6, "dx[\(i)]")
        }
        let dW = try XCTUnwrap(grads.first { $0.name == "W" }).value.doubles
        for i in stride(from: 0, to: W.count, by: 5) {
            var p = W, q = W; p[i] += e; q[i] -= e
            XCTAssertEqual(dW[i], (loss(xv, p) - loss(xv, q)) / (2 * e), accuracy: 1e-6, "dW[\(i)]")
        }

        // GRU, reverse, linear_before_reset: h' = (1 - z) ⊙ tanh(x·Whᵀ + Wbh + r ⊙ (H·Rhᵀ + Rbh)) + z ⊙ H.
        let gW = M.values(3 * h * inSize, seed: 61).map(Double.init), gR = M.values(3 * h * h, seed: 62).map(Double.init)
        let gB = M.values(6 * h, seed: 63).map(Double.init)
        let xs0 = M.values(seq * batch * inSize, seed: 64).map(Double.init)            // layout 0: [seq, batch, in]
        var H = [[Double]](repeating: [Double](repeating: 0, count: h), count: batch)
        var want = [Double](repeating: 0, count: seq * batch * h)
        for t in stride(from: seq - 1, through: 0, by: -1) {
            for b in 0..<batch {
                let xt = Array(xs0[((t * batch + b) * inSize)..<((t * batch + b + 1) * inSize)])
                var newH = [Double](repeating: 0, count: h)
                for j in 0..<h {
                    let z = sig(mv(gW, j, xt, cols: inSize) + mv(gR, j, H[b], cols: h) + gB[j] + gB[3 * h + j])
                    let r = sig(mv(gW, h + j, xt, cols: inSize) + mv(gR, h + j, H[b], cols: h) + gB[h + j] + gB[4 * h + j])
                    let cand = Foundation.tanh(mv(gW, 2 * h + j, xt, cols: inSize) + gB[2 * h + j] + r * (mv(gR, 2 * h + j, H[b], cols: h) + gB[5 * h + j]))
                    newH[j] = (1 - z) * cand + z * H[b][j]
                }
                H[b] = newH
                for j in 0..<h { want[(t * batch + b) * h + j] = newH[j] }
            }
        }
        let gru = M.model([M.node("GRU", ["x", "W", "R", "B"], ["y", "yh"], [
            M.int("hidden_size", h), M.str("direction", "reverse"), M.int("linear_before_reset", 1)])],
            inputs: [M.value("x", .float64, [seq, batch, inSize])], outputs: ["y", "yh"],
            initializers: [("W", try HostTensor(gW, shape: [1, 3 * h, inSize])), ("R", try HostTensor(gR, shape: [1, 3 * h, h])),
                           ("B", try HostTensor(gB, shape: [1, 6 * h]))])
        let out = try ONNXRunner.run(gru, inputs: ["x": try HostTensor(xs0, shape: [seq, batch, inSize])])
        XCTAssertEqual(out[0].value.shape, [seq, 1, batch, h])
        for (got, w) in zip(out[0].value.doubles, want) { XCTAssertEqual(got, w, accuracy: 1e-12) }
        for (got, w) in zip(out[1].value.doubles, want[0..<(batch * h)]) { XCTAssertEqual(got, w, accuracy: 1e-12, "Y_h of a reverse GRU is its state after t = 0") }
    }

    /// SoftmaxCrossEntropyLoss with class weights and ignore_index (mean over the weights that
    /// count) against a Float64 loop, and its gradient against finite differences.
    func testSoftmaxCrossEntropyLossWithWeightsAndIgnoredTargets() throws {
        let (n, c, d) = (3, 4, 2)
        let labels: [Int64] = [0, 3, 2, -1, 1, 1]   // [n, d]; -1 is ignored
        let weights: [Double] = [0.5, 1, 2, 1.5]
        func loss(_ s: [Double]) -> Double {
            var num = 0.0, den = 0.0
            for i in 0..<n { for j in 0..<d {
                let y = labels[i * d + j]
                guard y != -1 else { continue }
                let row = (0..<c).map { s[(i * c + $0) * d + j] }
                let m = row.max() ?? 0
                let lse = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
                num += weights[Int(y)] * (lse - row[Int(y)]); den += weights[Int(y)]
            } }
            return num / den
        }
        let model = M.model([M.node("SoftmaxCrossEntropyLoss", ["s", "y", "w"], ["loss"], [M.int("ignore_index", -1)])],
                            inputs: [M.value("s", .float64, [n, c, d])], outputs: ["loss"],
                            initializers: [("y", try HostTensor(labels, shape: [n, d])), ("w", try HostTensor(weights, shape: [c]))], opset: 13)
        let sv = M.values(n * c * d, seed: 71).map { Double($0) * 3 }
        let got = try ONNXRunner.run(model, inputs: ["s": try HostTensor(sv, shape: [n, c, d])])[0].value
        XCTAssertEqual(got.doubles[0], loss(sv), accuracy: 1e-12)
        let grad = try ONNXRunner.gradients(model, inputs: ["s": try HostTensor(sv, shape: [n, c, d])], cotangents: ["loss": HostTensor(scalar: 1.0)])
        for i in 0..<sv.count {
            var p = sv, q = sv; p[i] += 1e-6; q[i] -= 1e-6
            XCTAssertEqual(grad[0].value.doubles[i], (loss(p) - loss(q)) / 2e-6, accuracy: 1e-7, "ds[\(i)]")
        }
    }

    /// Attention with a KV cache, grouped-query heads, a causal mask and a boolean mask with a
    /// fully masked row (which gives zeros), against a Float64 loop of the definition.
    func testAttentionMatchesItsDefinition() throws {
        let (b, hq, hkv, sq, past, d) = (2, 4, 2, 3, 2, 3)
        let skv = past + sq
        let qv = M.values(b * hq * sq * d, seed: 81).map(Double.init), kv = M.values(b * hkv * sq * d, seed: 82).map(Double.init)
        let vv = M.values(b * hkv * sq * d, seed: 83).map(Double.init)
        let pk = M.values(b * hkv * past * d, seed: 84).map(Double.init), pv = M.values(b * hkv * past * d, seed: 85).map(Double.init)
        var mask = [Bool](repeating: true, count: sq * skv)
        for j in 0..<skv { mask[j] = false }            // query 0 sees no key: its output is 0
        mask[2 * skv + 1] = false
        func kAt(_ keys: [Double], _ pastKeys: [Double], _ bi: Int, _ h: Int, _ j: Int, _ e: Int) -> Double {
            j < past ? pastKeys[((bi * hkv + h) * past + j) * d + e] : keys[((bi * hkv + h) * sq + (j - past)) * d + e]
        }
        var want = [Double](repeating: 0, count: b * hq * sq * d)
        let scale = 1 / Double(d).squareRoot()
        for bi in 0..<b { for h in 0..<hq { for i in 0..<sq {
            let g = h / (hq / hkv)
            let allowed = (0..<skv).map { j in mask[i * skv + j] && j <= i + past }
            guard allowed.contains(true) else { continue }
            let scores = (0..<skv).map { j in (0..<d).reduce(0.0) { $0 + qv[((bi * hq + h) * sq + i) * d + $1] * kAt(kv, pk, bi, g, j, $1) } * scale }
            let m = zip(scores, allowed).filter { $0.1 }.map(\.0).max() ?? 0
            let e = zip(scores, allowed).map { $0.1 ? Foundation.exp($0.0 - m) : 0 }
            let z = e.reduce(0, +)
            for c in 0..<d { want[((bi * hq + h) * sq + i) * d + c] = (0..<skv).reduce(0.0) { $0 + e[$1] / z * kAt(vv, pv, bi, g, $1, c) } }
        } } }
        let model = M.model([M.node("Attention", ["q", "k", "v", "mask", "pk", "pv"], ["y", "present_k", "present_v"], [M.int("is_causal", 1)])],
                            inputs: [M.value("q", .float64, [b, hq, sq, d])], outputs: ["y", "present_k", "present_v"],
                            initializers: [("k", try HostTensor(kv, shape: [b, hkv, sq, d])), ("v", try HostTensor(vv, shape: [b, hkv, sq, d])),
                                           ("mask", try HostTensor(mask, shape: [sq, skv])),
                                           ("pk", try HostTensor(pk, shape: [b, hkv, past, d])), ("pv", try HostTensor(pv, shape: [b, hkv, past, d]))],
                            opset: 23)
        let out = try ONNXRunner.run(model, inputs: ["q": try HostTensor(qv, shape: [b, hq, sq, d])])
        XCTAssertEqual(out[0].value.shape, [b, hq, sq, d])
        for (got, w) in zip(out[0].value.doubles, want) { XCTAssertEqual(got, w, accuracy: 1e-12) }
        XCTAssertEqual(out[1].value.shape, [b, hkv, skv, d])
        XCTAssertEqual(Array(out[1].value.doubles[0..<(past * d)]), Array(pk[0..<(past * d)]), "present_key starts with the cache")
    }
}
