import Foundation
import XCTest
import Graph
import Runtime
import NN
@testable import ONNX

/// Export, export → import round trips, and (when Python is available) onnx.checker and onnxruntime.
final class ExportTests: XCTestCase {
    /// Runs the workload model in SymGraph and its export → import copy; both must agree.
    private func roundTrip(_ model: Workloads.Model, input: HostTensor, labels: HostTensor) throws -> Onnx_ModelProto {
        let proto = try ONNXExporter.export(outputs: [("logits", model.logits), ("loss", model.loss)], of: model.graph)
        let decoded = try ONNXModelFile.decode(try ONNXModelFile.encode(proto))
        let s = try Session(model.graph)
        let want = try s.run([model.logits, model.loss], feeds: [model.input: input, model.labels!: labels])
        let got = try ONNXRunner.run(decoded, inputs: ["x": input, "labels": labels])
        XCTAssertEqual(got.map(\.name), ["logits", "loss"])
        for (g, w) in zip(got, want) {
            XCTAssertEqual(g.value.shape, w.shape)
            for (a, b) in zip(g.value.doubles, w.doubles) { XCTAssertEqual(a, b, accuracy: 1e-5 * Swift.max(1, Swift.abs(b))) }
        }
        return proto
    }

    func testMLPRoundTrip() throws {
        let (x, y) = Workloads.mlpData(batch: 8)
        let proto = try roundTrip(Workloads.mlp(), input: x, labels: y)
        XCTAssertEqual(proto.graph.input.map(\.name), ["x", "labels"])
        XCTAssertNil(proto.graph.input[0].type.tensorType.shape.dim[0].value, "the batch dimension stays unknown")
        XCTAssertEqual(proto.graph.initializer.filter { $0.dims.count == 2 }.count, 3)
    }

    func testLeNetRoundTrip() throws {
        let (x, y) = Workloads.lenetData(batch: 2)
        _ = try roundTrip(Workloads.lenet(), input: x, labels: y)
    }

    func testCompositeOpsRoundTrip() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2, 3, 4])
        let a = rsqrt(abs(x) + 1) + log1p(abs(x)) + expm1(x) + x.map(.gelu) + square(x)
        let b = a.slice(begin: [nil, 2], end: [nil, nil], strides: [1, -1]).transposed([0, 2, 1])
        let c = concat([b, b.padded([(0, 0), (1, 0), (0, 2)], value: 0.5).slice(begin: [nil, 1, 0], end: [nil, nil, 2])], axis: 2)
        let d = c.softmax(axis: 1).logsumexp(axes: [2], keepDims: true).squeezed(axes: [2]).expandingDims(axis: 0)
        let e = `where`(x .> 0, x, x * 0.1).tiled([1, 2, 1]).max(axes: [1]) + x.argmax(axis: 1).cast(to: .float32)
        let proto = try ONNXExporter.export([d, e])
        let xv = try HostTensor(M.values(24, seed: 9), shape: [2, 3, 4])
        let want = try Session(g).run([d, e], feeds: [x: xv])
        let got = try ONNXRunner.run(proto, inputs: ["x": xv])
        for (gv, w) in zip(got, want) {
            XCTAssertEqual(gv.value.shape, w.shape)
            for (p, q) in zip(gv.value.doubles, w.doubles) { XCTAssertEqual(p, q, accuracy: 1e-5) }
        }
    }

    /// `narrow` exports as a Cast to the narrow type and back; types newer than the opset are refused.
    func testNarrowExportsAsCastsAndChecksTheOpset() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [3])
        let y = x.narrow(to: .float16) + x.narrow(to: .float8E5M2)
        let xv = try HostTensor([1.00048828125 + 1e-7, 500, -0.30078125] as [Float], shape: [3])
        XCTAssertThrowsError(try ONNXExporter.export([y])) { e in
            XCTAssertTrue("\(e)".contains("needs opset 19"), "\(e)")
        }
        let proto = try ONNXExporter.export([y], options: ONNXExportOptions(opset: 19))
        XCTAssertEqual(proto.graph.node.filter { $0.opType == "Cast" }.count, 4)
        let got = try ONNXRunner.run(proto, inputs: ["x": xv])
        // float16: 1 + 2^-10, 500, -0.30078125; E5M2: 1, 512, -0.3125.
        XCTAssertEqual(got[0].value.floats, [2.0009765625, 1012, -0.61328125])
        // The same model in onnxruntime, when it is available.
        guard let py = onnxPython() else { return }
        let dir = try M.tempFolder()
        try ONNXModelFile.write(proto, to: dir + "/model.onnx")
        try FileManager.default.createDirectory(atPath: dir + "/in", withIntermediateDirectories: true)
        try ONNXTensor.write(xv, name: "x", path: dir + "/in/input_0.pb")
        let r = try runProcess(py, [packageRoot() + "/scripts/onnx/models.py", "ort", dir + "/model.onnx", dir + "/in", dir + "/out"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(try ONNXTensor.readFolder(dir + "/out", prefix: "output_").first?.value.floats, [2.0009765625, 1012, -0.61328125])
    }

    func testStateOpsAreRefused() throws {
        let g = Graph()
        let v = g.variable("v", initializer: .zeros, shape: [2])
        let up = v.assign(v + 1)
        XCTAssertThrowsError(try ONNXExporter.export([up])) { e in
            XCTAssertTrue("\(e)".contains("cannot export to ONNX: assign"), "\(e)")
        }
    }

    /// The exported LeNet through onnx.checker and onnxruntime, against SymGraph.
    func testExportedModelRunsInONNXRuntime() throws {
        guard let py = onnxPython() else {
            throw XCTSkip("skipped: no Python with onnx and onnxruntime (make .build/onnx-venv or set ONNX_PYTHON)")
        }
        let model = Workloads.lenet()
        let (x, y) = Workloads.lenetData(batch: 3)
        let proto = try ONNXExporter.export(outputs: [("logits", model.logits), ("loss", model.loss)], of: model.graph)
        let dir = try M.tempFolder()
        try ONNXModelFile.write(proto, to: dir + "/model.onnx")
        try FileManager.default.createDirectory(atPath: dir + "/in", withIntermediateDirectories: true)
        try ONNXTensor.write(x, name: "x", path: dir + "/in/input_0.pb")
        try ONNXTensor.write(y, name: "labels", path: dir + "/in/input_1.pb")
        let script = packageRoot() + "/scripts/onnx/models.py"
        let r = try runProcess(py, [script, "ort", dir + "/model.onnx", dir + "/in", dir + "/out"])
        XCTAssertEqual(r.status, 0, r.output)
        let got = try ONNXTensor.readFolder(dir + "/out", prefix: "output_")
        let want = try Session(model.graph).run([model.logits, model.loss], feeds: [model.input: x, model.labels!: y])
        XCTAssertEqual(got.map(\.name), ["logits", "loss"])
        for (g, w) in zip(got, want) {
            XCTAssertEqual(g.value.shape, w.shape)
            let scale = w.doubles.map { Swift.abs($0) }.max() ?? 1
            for (a, b) in zip(g.value.doubles, w.doubles) { XCTAssertEqual(a, b, accuracy: 1e-4 * Swift.max(scale, 1e-6)) }
        }
    }
}
