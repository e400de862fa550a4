import ArgumentParser
import SymGraph

/// `symgraph run MODEL.onnx --inputs DIR --outputs DIR`: runs an ONNX model on ONNX test-data files.
struct RunONNX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an ONNX model on input_*.pb TensorProto files; write output_0.pb … in output order.")

    @Argument(help: "The .onnx model file.")
    var model: String

    @Option(help: "Folder of input_*.pb files (matched to the model's inputs by name, else by position).")
    var inputs: String

    @Option(help: "Folder to write output_<k>.pb files into (each TensorProto carries its output's name).")
    var outputs: String

    @Option(help: "Optimization level 0–3.")
    var level: Int = 2

    func run() throws {
        let proto = try ONNXModelFile.read(path: model)
        let ins = try ONNXRunner.matchInputs(try ONNXTensor.readFolder(inputs), to: proto)
        let opts = SessionOptions(level: OptimizationLevel(rawValue: level) ?? .O2)
        let results = try ONNXRunner.run(proto, inputs: ins, folder: folderOf(model), sessionOptions: opts)
        try writeAll(results, to: outputs, types: ONNXModelFile.declaredTypes(proto))
    }
}

/// `symgraph gradients MODEL.onnx --inputs DIR --cotangents DIR --outputs DIR`.
struct GradientsONNX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradients",
        abstract: "Gradient of L = Σ sum(output × cotangent) w.r.t. every float input and initializer of an ONNX model.",
        discussion: "Writes output_<k>.pb, one per tensor (inputs first, then initializers, in model order), each named after its tensor.")

    @Argument(help: "The .onnx model file.")
    var model: String

    @Option(help: "Folder of input_*.pb files.")
    var inputs: String

    @Option(help: "Folder of *.pb cotangents, one per output (matched by name, else by position).")
    var cotangents: String

    @Option(help: "Folder to write the gradients into.")
    var outputs: String

    func run() throws {
        let proto = try ONNXModelFile.read(path: model)
        let ins = try ONNXRunner.matchInputs(try ONNXTensor.readFolder(inputs), to: proto)
        var cots: [String: HostTensor] = [:]
        let outNames = proto.graph.output.map(\.name)
        for (k, c) in try ONNXTensor.readFolder(cotangents, prefix: "output_").enumerated() {
            if outNames.contains(c.name) { cots[c.name] = c.value }
            else if k < outNames.count { cots[outNames[k]] = c.value }
            else { throw ToolError("cotangent \(k) ('\(c.name)') matches none of the outputs \(outNames)") }
        }
        let grads = try ONNXRunner.gradients(proto, inputs: ins, cotangents: cots, folder: folderOf(model))
        try writeAll(grads, to: outputs, types: ONNXModelFile.declaredTypes(proto))
    }
}

/// `symgraph export mlp|lenet --output FILE`: writes a built-in model as ONNX.
struct ExportONNX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a built-in workload model (mlp or lenet) as an ONNX model with its initial weights.")

    @Argument(help: "mlp or lenet")
    var model: String = "mlp"

    @Option(help: "The .onnx file to write.")
    var output: String

    @Option(help: "A fixed batch size (default: unknown).")
    var batch: Int?

    @Flag(help: "Also export the loss (with a labels input).")
    var withLoss = false

    func run() throws {
        let m: Workloads.Model
        switch model {
        case "mlp": m = Workloads.mlp(batch: batch)
        case "lenet": m = Workloads.lenet(batch: batch)
        default: throw ToolError("unknown model '\(model)' (mlp, lenet)")
        }
        try m.graph.validate()
        var outs: [(name: String, tensor: Tensor)] = [("logits", m.logits)]
        if withLoss { outs.append(("loss", m.loss)) }
        let proto = try ONNXExporter.export(outputs: outs, of: m.graph)
        try ONNXModelFile.write(proto, to: output)
        print("wrote \(output) (\(proto.graph.node.count) nodes, \(proto.graph.initializer.count) initializers)")
    }
}

private func folderOf(_ path: String) -> String {
    guard let i = path.lastIndex(of: "/") else { return "." }
    return i == path.startIndex ? "/" : String(path[..<i])
}

/// Writes `output_<k>.pb` files, narrowing widened values back to the model's declared types.
private func writeAll(_ values: [(name: String, value: HostTensor)], to folder: String, types: [String: Int32]) throws {
    try ONNXTensor.makeFolder(folder)
    for (k, v) in values.enumerated() {
        try ONNXTensor.write(v.value, name: v.name, path: "\(folder)/output_\(k).pb", as: types[v.name])
    }
}
