#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Graph
import SwiftProtobuf

/// Reading and writing ONNX model files (`ModelProto`, protobuf binary encoding).
public enum ONNXModelFile {
    /// Decodes a model from bytes. Truncated or malformed input is a thrown error.
    public static func decode(_ data: Data, limits: ONNXLimits = ONNXLimits()) throws -> Onnx_ModelProto {
        guard data.count <= limits.maxFileBytes else {
            throw ONNXError.file("model of \(data.count) bytes exceeds the limit of \(limits.maxFileBytes)")
        }
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = 64
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: data, options: options) } catch {
            throw ONNXError.file("not a valid ONNX model (protobuf decoding failed: \(error))")
        }
        guard model.hasGraph else { throw ONNXError.file("the model has no graph") }
        guard model.graph.node.count <= limits.maxNodes else {
            throw ONNXError.file("the graph has \(model.graph.node.count) nodes, more than the limit of \(limits.maxNodes)")
        }
        return model
    }

    /// Reads a model file.
    public static func read(path: String, limits: ONNXLimits = ONNXLimits()) throws -> Onnx_ModelProto {
        try decode(try FileAccess.read(path, maxBytes: limits.maxFileBytes), limits: limits)
    }

    /// Encodes a model to bytes.
    public static func encode(_ model: Onnx_ModelProto) throws -> Data {
        try model.serializedBytes()
    }

    /// Writes a model file.
    public static func write(_ model: Onnx_ModelProto, to path: String) throws {
        try FileAccess.write(try encode(model), to: path)
    }

    /// The declared ONNX element type of each named graph input, output and initializer.
    public static func declaredTypes(_ model: Onnx_ModelProto) -> [String: Int32] {
        var out: [String: Int32] = [:]
        for v in model.graph.input + model.graph.output {
            if case .tensorType(let t)? = v.type.value, t.elemType != 0 { out[v.name] = t.elemType }
        }
        for t in model.graph.initializer { out[t.name] = t.dataType }
        return out
    }

    /// The default-domain opset the model imports (nil when it imports none).
    public static func opsetVersion(_ model: Onnx_ModelProto) -> Int? {
        model.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }.map { Int($0.version) }
    }
}
