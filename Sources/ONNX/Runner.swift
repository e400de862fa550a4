import Graph
import Runtime

/// Runs ONNX models and their gradients on named tensors (what `symgraph run` and
/// `symgraph gradients` do, usable from code).
public enum ONNXRunner {
    /// Matches named values to the model's runtime inputs: by name when the name is one of
    /// the model's inputs, otherwise by position.
    public static func matchInputs(_ values: [(name: String, value: HostTensor)], to model: Onnx_ModelProto) throws -> [String: HostTensor] {
        let initNames = Set(model.graph.initializer.map(\.name))
        let runtime = model.graph.input.map(\.name).filter { !initNames.contains($0) }
        var out: [String: HostTensor] = [:]
        for (k, v) in values.enumerated() {
            if runtime.contains(v.name) { out[v.name] = v.value; continue }
            guard k < runtime.count else {
                throw ONNXError.file("value \(k) ('\(v.name)') matches none of the model's inputs \(runtime)")
            }
            out[runtime[k]] = v.value
        }
        return out
    }

    /// Imports `model` with `inputs` known at import time (their shapes specialize the graph,
    /// so `Shape` of a symbolic batch folds) and computes its outputs.
    ///
    /// - Returns: The outputs, named, in the model's output order.
    public static func run(_ model: Onnx_ModelProto, inputs: [String: HostTensor], folder: String? = nil,
                           sessionOptions: SessionOptions = SessionOptions()) throws -> [(name: String, value: HostTensor)] {
        let m = try ONNXImporter.importModel(model, options: ONNXImportOptions(inputValues: inputs, specializeInputShapes: true, modelFolder: folder))
        let feeds = try feedDictionary(m, inputs)
        let session = try Session(m.graph, options: sessionOptions)
        let values = try session.run(m.outputs.map(\.tensor), feeds: feeds)
        return zip(m.outputs, values).map { ($0.name, $1) }
    }

    /// The gradient of `L = Σ_outputs sum(output × cotangent)` with respect to every
    /// floating-point graph input and every floating-point initializer.
    ///
    /// - Parameters:
    ///   - cotangents: One value per output, by output name (missing outputs do not contribute).
    /// - Returns: One gradient per input, then per initializer (model order), named after the tensor.
    public static func gradients(_ model: Onnx_ModelProto, inputs: [String: HostTensor], cotangents: [String: HostTensor],
                                 folder: String? = nil, sessionOptions: SessionOptions = SessionOptions()) throws -> [(name: String, value: HostTensor)] {
        let m = try ONNXImporter.importModel(model, options: ONNXImportOptions(initializersAsVariables: true, inputValues: inputs,
                                                                               specializeInputShapes: true, modelFolder: folder))
        let g = m.graph
        var terms: [Tensor] = []
        for o in m.outputs {
            guard let c = cotangents[o.name] else { continue }
            guard o.tensor.dtype.isFloatingPoint else {
                throw ONNXError.file("output '\(o.name)' is \(o.tensor.dtype); cotangents need floating-point outputs")
            }
            guard c.dtype == o.tensor.dtype, o.tensor.shape.accepts(c.shape) else {
                throw ONNXError.file("cotangent for '\(o.name)' is \(c.dtype)\(c.shape), the output is \(o.tensor.dtype)\(o.tensor.shape)")
            }
            terms.append((o.tensor * g.constant(c)).sum().cast(to: .float64))
        }
        guard var loss = terms.first else { throw ONNXError.file("no cotangent matches an output of the model") }
        for t in terms.dropFirst() { loss = loss + t }
        let wrt = (m.inputs + m.initializers).filter { $0.tensor.dtype.isFloatingPoint }
        guard !wrt.isEmpty else { throw ONNXError.file("the model has no floating-point inputs or initializers") }
        let grads = try g.gradients(of: loss, with: wrt.map(\.tensor), disconnected: .zeros)
        let session = try Session(g, options: sessionOptions)
        let values = try session.run(grads, feeds: try feedDictionary(m, inputs))
        return zip(wrt, values).map { ($0.name, $1) }
    }

    static func feedDictionary(_ m: ONNXImportedModel, _ inputs: [String: HostTensor]) throws -> [Tensor: HostTensor] {
        var feeds: [Tensor: HostTensor] = [:]
        for i in m.inputs {
            guard let v = inputs[i.name] else { throw ONNXError.file("no value for the model's input '\(i.name)'") }
            feeds[i.tensor] = v
        }
        return feeds
    }
}
