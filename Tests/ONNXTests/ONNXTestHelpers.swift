import Foundation
import Graph
import Runtime
@testable import ONNX

/// Small builders for hand-made ONNX models.
enum M {
    static func node(_ op: String, _ ins: [String], _ outs: [String], _ attrs: [Onnx_AttributeProto] = [], name: String = "") -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = ins
        n.output = outs
        n.attribute = attrs
        n.name = name
        return n
    }
    static func int(_ name: String, _ v: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .int; a.i = Int64(v); return a
    }
    static func ints(_ name: String, _ v: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = v.map { Int64($0) }; return a
    }
    static func float(_ name: String, _ v: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .float; a.f = v; return a
    }
    static func str(_ name: String, _ v: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .string; a.s = Data(v.utf8); return a
    }
    static func graph(_ name: String, _ g: Onnx_GraphProto) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .graph; a.g = g; return a
    }
    /// A subgraph (Loop body, If branch) with typed inputs and named outputs.
    static func subgraph(_ nodes: [Onnx_NodeProto], inputs: [Onnx_ValueInfoProto], outputs: [String]) -> Onnx_GraphProto {
        var g = Onnx_GraphProto()
        g.node = nodes
        g.input = inputs
        g.output = outputs.map { n in var v = Onnx_ValueInfoProto(); v.name = n; return v }
        return g
    }
    /// A tensor value info; `nil` dimensions become the symbolic dimension "N".
    static func value(_ name: String, _ dims: [Int?]) -> Onnx_ValueInfoProto { value(name, .float32, dims) }
    /// A tensor value info of `dtype`.
    static func value(_ name: String, _ dtype: DType, _ dims: [Int?]) -> Onnx_ValueInfoProto {
        var vi = Onnx_ValueInfoProto()
        vi.name = name
        var tt = Onnx_TypeProto.Tensor()
        tt.elemType = ONNXTensor.code(of: dtype)
        var sp = Onnx_TensorShapeProto()
        sp.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = Int64(d) } else { dim.dimParam = "N" }
            return dim
        }
        tt.shape = sp
        vi.type.tensorType = tt
        return vi
    }
    static func model(_ nodes: [Onnx_NodeProto], inputs: [Onnx_ValueInfoProto], outputs: [String],
                      initializers: [(String, HostTensor)] = [], opset: Int = 17) -> Onnx_ModelProto {
        var g = Onnx_GraphProto()
        g.node = nodes
        g.input = inputs
        g.output = outputs.map { n in var v = Onnx_ValueInfoProto(); v.name = n; return v }
        g.initializer = initializers.map { ONNXTensor.proto($0.1, name: $0.0) }
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var o = Onnx_OperatorSetIdProto(); o.version = Int64(opset)
        m.opsetImport = [o]
        m.graph = g
        return m
    }

    /// Deterministic values in [-1, 1).
    static func values(_ n: Int, seed: UInt64) -> [Float] {
        DeterministicRandom.uniformFloats(count: n, seed: seed, low: -1, high: 1)
    }

    /// Runs an imported model's outputs.
    static func run(_ model: Onnx_ModelProto, _ feeds: [String: HostTensor], options: ONNXImportOptions = ONNXImportOptions()) throws -> [HostTensor] {
        let m = try ONNXImporter.importModel(model, options: options)
        let s = try Session(m.graph)
        var f: [Tensor: HostTensor] = [:]
        for i in m.inputs { f[i.tensor] = feeds[i.name] }
        return try s.run(m.outputs.map(\.tensor), feeds: f)
    }

    /// A fresh temporary folder.
    static func tempFolder() throws -> String {
        let path = NSTemporaryDirectory() + "onnx-tests-\(UInt64.random(in: 0..<UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// The venv Python with onnx and onnxruntime, if present.
func onnxPython() -> String? {
    let env = ProcessInfo.processInfo.environment
    var candidates: [String] = []
    // ONNX_PYTHON, when set, is the only candidate (set it to "none" to skip the Python checks).
    if let p = env["ONNX_PYTHON"] { candidates.append(p) } else { candidates.append(packageRoot() + "/.build/onnx-venv/bin/python") }
    for c in candidates where FileManager.default.isExecutableFile(atPath: c) {
        if (try? runProcess(c, ["-c", "import onnx, onnxruntime"]))?.status == 0 { return c }
    }
    return nil
}

/// The package root folder.
func packageRoot() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

/// Runs a process and returns its exit status and standard output.
func runProcess(_ exe: String, _ args: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
