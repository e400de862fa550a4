import Graph

/// How an ONNX model becomes a SymGraph graph.
public struct ONNXImportOptions: Sendable {
    /// Turn floating-point initializers into variables (so the model can be fine-tuned
    /// with `graph.gradients` and training optimizers) instead of constants.
    /// Integer and bool initializers (shapes, indices) always stay constants.
    public var initializersAsVariables: Bool
    /// Values of graph inputs known at import time. An op that needs a static value
    /// (a `Reshape` shape, `Slice` bounds, …) may read a graph input from here; the input
    /// stays a placeholder and must be fed the same value at run time.
    public var inputValues: [String: HostTensor]
    /// Give inputs listed in ``inputValues`` those values' concrete shapes instead of the declared
    /// (possibly symbolic) ones, so `Shape` and shape arithmetic on them fold at import time.
    /// The graph then only accepts inputs of those shapes.
    public var specializeInputShapes: Bool
    /// Size limits for hostile files.
    public var limits: ONNXLimits
    /// The folder external-data files are read from (set by ``ONNXImporter/importModel(path:options:)``).
    public var modelFolder: String?

    /// Creates options.
    public init(initializersAsVariables: Bool = false, inputValues: [String: HostTensor] = [:],
                specializeInputShapes: Bool = false, limits: ONNXLimits = ONNXLimits(), modelFolder: String? = nil) {
        self.initializersAsVariables = initializersAsVariables
        self.inputValues = inputValues
        self.specializeInputShapes = specializeInputShapes
        self.limits = limits
        self.modelFolder = modelFolder
    }
}

/// A named tensor of an imported model (an ONNX value name and its graph tensor).
public struct ONNXNamedTensor: Hashable, @unchecked Sendable {
    /// The ONNX value name.
    public let name: String
    /// The tensor in the imported graph.
    public let tensor: Tensor
}

/// An ONNX model imported into a ``Graph``.
public struct ONNXImportedModel: @unchecked Sendable {
    /// The graph holding the model.
    public let graph: Graph
    /// The model's runtime inputs (graph inputs that are not initializers), as placeholders, in model order.
    public let inputs: [ONNXNamedTensor]
    /// The model's outputs, in model order.
    public let outputs: [ONNXNamedTensor]
    /// The initializers, in model order (constants, or variables when asked for).
    public let initializers: [ONNXNamedTensor]
    /// The default-domain opset version the model declares.
    public let opset: Int

    /// The input with this ONNX name.
    public func input(named name: String) -> Tensor? { inputs.first { $0.name == name }?.tensor }
    /// The output with this ONNX name.
    public func output(named name: String) -> Tensor? { outputs.first { $0.name == name }?.tensor }
}

/// Imports ONNX models (opsets 7–21; opsets 13–21 are the tested range) into SymGraph graphs.
///
/// Each ONNX op is composed from existing IR ops. Symbolic dimensions become unknown
/// dimensions. Values an op needs at import time (shapes, axes, slice bounds) must be
/// static: initializers, `Constant`s, shapes of fully known tensors, or computations on
/// those, which the importer folds.
public enum ONNXImporter {
    /// Reads and imports a model file (external data is read from the file's folder).
    public static func importModel(path: String, options: ONNXImportOptions = ONNXImportOptions()) throws -> ONNXImportedModel {
        var o = options
        if o.modelFolder == nil { o.modelFolder = FileAccess.directory(of: path) }
        return try importModel(try ONNXModelFile.read(path: path, limits: o.limits), options: o)
    }

    /// Imports a decoded model.
    public static func importModel(_ model: Onnx_ModelProto, options: ONNXImportOptions = ONNXImportOptions()) throws -> ONNXImportedModel {
        for imp in model.opsetImport where !(imp.domain.isEmpty || imp.domain == "ai.onnx") {
            // Other domains are fine as long as no node uses them (checked per node).
            _ = imp
        }
        let opset = ONNXModelFile.opsetVersion(model) ?? 21
        guard opset >= 1, opset <= 30 else { throw ONNXError.file("unsupported default-domain opset \(opset)") }
        let ctx = ImportContext(opset: opset, options: options)
        return try ctx.run(model.graph)
    }
}

/// The state of one import: the graph being built and what each ONNX value name became.
final class ImportContext {
    let g = Graph()
    let opset: Int
    let options: ONNXImportOptions
    /// ONNX value name to graph tensor.
    var values: [String: Tensor] = [:]
    /// ONNX value name to its value, when known at import time.
    var statics: [String: HostTensor] = [:]
    /// ONNX element types of values, where known (narrow types are widened in the IR).
    var elemTypes: [String: Int32] = [:]
    /// Nodes converted by inlining subgraphs (Loop bodies, If branches), against the node limit.
    var inlinedNodes = 0
    /// Import-time values of graph nodes (see ``StaticEval``).
    var irStatics: [NodeID: HostTensor] = [:]
    /// Graph nodes known to have no import-time value.
    var irNonStatic: Set<NodeID> = []
    var totalBytes = 0

    init(opset: Int, options: ONNXImportOptions) {
        self.opset = opset
        self.options = options
    }

    func run(_ graph: Onnx_GraphProto) throws -> ONNXImportedModel {
        let limits = options.limits
        guard graph.node.count <= limits.maxNodes else { throw ONNXError.file("the graph has more than \(limits.maxNodes) nodes") }
        guard graph.sparseInitializer.isEmpty else { throw ONNXError.file("sparse initializers are not supported") }
        var initializers: [ONNXNamedTensor] = []
        for t in graph.initializer {
            guard !t.name.isEmpty else { throw ONNXError.file("an initializer has no name") }
            guard values[t.name] == nil else { throw ONNXError.file("initializer '\(t.name)' is defined twice") }
            let v = try ONNXTensor.hostTensor(t, limits: limits, folder: options.modelFolder)
            try account(v, what: "initializer '\(t.name)'")
            let loc = SourceLocation(file: "onnx:initializer", line: 0)
            let tensor: Tensor
            if options.initializersAsVariables && v.dtype.isFloatingPoint {
                tensor = g.variable(t.name, value: v, file: loc.file, line: loc.line)
            } else {
                tensor = g.constant(v, name: t.name, file: loc.file, line: loc.line)
            }
            values[t.name] = tensor
            elemTypes[t.name] = t.dataType
            statics[t.name] = v
            irStatics[tensor.id] = v
            initializers.append(ONNXNamedTensor(name: t.name, tensor: tensor))
        }
        var inputs: [ONNXNamedTensor] = []
        for vi in graph.input where values[vi.name] == nil {
            guard !vi.name.isEmpty else { throw ONNXError.file("a graph input has no name") }
            let known = options.inputValues[vi.name]
            var (dtype, shape) = try valueType(vi, fallback: known)
            if options.specializeInputShapes, let known, shape.accepts(known.shape) { shape = Shape(known: known.shape) }
            let p = g.placeholder(vi.name, shape: shape, dtype: dtype, file: "onnx:input", line: 0)
            if let known {
                guard known.dtype == dtype, shape.accepts(known.shape) else {
                    throw ONNXError.file("the value given for input '\(vi.name)' is \(known.dtype)\(known.shape), the model declares \(dtype)\(shape)")
                }
                statics[vi.name] = known
                irStatics[p.id] = known
            }
            // A narrow-typed input holds only the narrow type's values.
            let code = vi.type.tensorType.elemType
            elemTypes[vi.name] = code
            if let kind = ONNXTensor.narrowKind(ofCode: code) {
                values[vi.name] = g.withLocation(SourceLocation(file: "onnx:input", line: 0)) { p.narrow(to: NarrowFormat(kind, saturate: false)) }
            } else {
                values[vi.name] = p
            }
            inputs.append(ONNXNamedTensor(name: vi.name, tensor: p))
        }
        for (index, node) in try topologicalOrder(graph.node) {
            try convert(node, index: index)
        }
        var outputs: [ONNXNamedTensor] = []
        for vi in graph.output {
            guard let t = values[vi.name] else { throw ONNXError.file("graph output '\(vi.name)' is not produced by any node") }
            outputs.append(ONNXNamedTensor(name: vi.name, tensor: t))
        }
        try g.validate()
        return ONNXImportedModel(graph: g, inputs: inputs, outputs: outputs, initializers: initializers, opset: opset)
    }

    /// Whether the known dimensions of a shape multiply to at most the element limit (overflow-checked).
    func fitsLimit(_ s: Shape) -> Bool {
        guard s.rank <= options.limits.maxRank else { return false }
        var n = 1
        for d in s.dims.compactMap({ $0 }) {
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o, p <= options.limits.maxElements else { return false }
            n = p
        }
        return true
    }

    /// Counts a constant's bytes against the model's total.
    func account(_ v: HostTensor, what: String) throws {
        totalBytes += v.count * v.dtype.byteSize
        guard totalBytes <= options.limits.maxTotalBytes else {
            throw ONNXError.file("\(what): the model's constants exceed the limit of \(options.limits.maxTotalBytes) bytes")
        }
    }

    /// The dtype and static shape of a graph input.
    func valueType(_ vi: Onnx_ValueInfoProto, fallback: HostTensor?) throws -> (DType, Shape) {
        guard case .tensorType(let tt)? = vi.type.value else {
            throw ONNXError.file("input '\(vi.name)' is not a tensor (sequences, maps and optionals are not supported)")
        }
        let dtype = try ONNXTensor.dtype(ofCode: tt.elemType, what: "input '\(vi.name)'")
        guard tt.hasShape else {
            if let f = fallback { return (dtype, Shape(known: f.shape)) }
            throw ONNXError.file("input '\(vi.name)' has no shape (its rank must be known)")
        }
        guard tt.shape.dim.count <= options.limits.maxRank else { throw ONNXError.file("input '\(vi.name)' has rank \(tt.shape.dim.count), above the limit") }
        let dims: [Int?] = try tt.shape.dim.map { d in
            switch d.value {
            case .dimValue(let v)?:
                guard v >= 0, v <= Int64(options.limits.maxElements) else { throw ONNXError.file("input '\(vi.name)' has dimension \(v)") }
                return Int(v)
            default: return nil
            }
        }
        guard fitsLimit(Shape(dims)) else {
            throw ONNXError.file("input '\(vi.name)' of shape \(Shape(dims)) has more than \(options.limits.maxElements) elements")
        }
        return (dtype, Shape(dims))
    }

    /// Orders nodes so each comes after the producers of its inputs; throws on a cycle.
    func topologicalOrder(_ nodes: [Onnx_NodeProto]) throws -> [(Int, Onnx_NodeProto)] {
        var producer: [String: Int] = [:]
        for (i, n) in nodes.enumerated() {
            for o in n.output where !o.isEmpty {
                if producer[o] != nil || values[o] != nil {
                    throw ONNXError.node(n, index: i, "output '\(o)' is already defined (ONNX values are assigned once)")
                }
                producer[o] = i
            }
        }
        var pending = [Int](repeating: 0, count: nodes.count)
        var users: [[Int]] = Array(repeating: [], count: nodes.count)
        for (i, n) in nodes.enumerated() {
            for name in Set(n.input).union(Self.outerReferences(of: n)) where !name.isEmpty {
                if let p = producer[name] {
                    pending[i] += 1
                    users[p].append(i)
                }
            }
        }
        var ready = (0..<nodes.count).filter { pending[$0] == 0 }.reversed().map { $0 }
        var order: [(Int, Onnx_NodeProto)] = []
        order.reserveCapacity(nodes.count)
        while let i = ready.popLast() {
            order.append((i, nodes[i]))
            for u in users[i].reversed() {
                pending[u] -= 1
                if pending[u] == 0 { ready.append(u) }
            }
        }
        if order.count < nodes.count {
            let stuck = (0..<nodes.count).filter { pending[$0] > 0 }
            let names = stuck.prefix(5).map { nodes[$0].name.isEmpty ? "#\($0) \(nodes[$0].opType)" : "'\(nodes[$0].name)' (\(nodes[$0].opType))" }
            throw ONNXError.node(nodes[stuck[0]], index: stuck[0],
                                 "the graph has a cycle through \(stuck.count) node(s): \(names.joined(separator: ", "))")
        }
        return order
    }

    /// The outer-scope values a node's subgraphs (If branches, Loop bodies) read: what their
    /// nodes use and do not define themselves — dependencies as real as the node's inputs.
    static func outerReferences(of node: Onnx_NodeProto) -> Set<String> {
        var refs = Set<String>()
        for a in node.attribute {
            for sub in (a.hasG ? [a.g] : []) + a.graphs {
                var defined = Set(sub.input.map(\.name) + sub.initializer.map(\.name))
                for n in sub.node { defined.formUnion(n.output) }
                for n in sub.node {
                    for name in Set(n.input).union(outerReferences(of: n)) where !defined.contains(name) { refs.insert(name) }
                }
                for o in sub.output where !defined.contains(o.name) { refs.insert(o.name) }
            }
        }
        return refs
    }

    /// Ops whose outputs are (rearranged) input values.
    static let movesData: Set<String> = [
        "Identity", "Dropout", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Expand", "Tile", "Slice",
        "Gather", "GatherElements", "Concat", "Split", "Pad", "DepthToSpace", "SpaceToDepth", "Trilu", "Max", "Min",
        "MaxPool", "GlobalMaxPool", "ReduceMax", "ReduceMin", "Relu", "Abs", "Neg", "Where", "Clip",
    ]

    /// float16 or bfloat16 when the node computes in that type: its floating-point inputs are
    /// of it and the converter set no other output type (Cast, quantization).
    func halfPrecisionKind(_ node: Onnx_NodeProto, _ nc: NodeContext) -> NarrowFormat.Kind? {
        guard nc.outputElemType == nil, node.opType != "Constant" else { return nil }
        for name in node.input where !name.isEmpty {
            if let code = elemTypes[name], let kind = ONNXTensor.narrowKind(ofCode: code), kind == .float16 || kind == .bfloat16 {
                return kind
            }
        }
        return nil
    }

    /// Converts one ONNX node, recording its outputs.
    func convert(_ node: Onnx_NodeProto, index: Int) throws {
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw ONNXError.node(node, index: index, "op '\(node.domain).\(node.opType)' is not supported (only the default ONNX domain is)")
        }
        for name in node.input where !name.isEmpty && values[name] == nil {
            throw ONNXError.node(node, index: index, "input '\(name)' is not produced by any node, initializer or graph input")
        }
        for name in node.input where !name.isEmpty {
            if let t = values[name], !fitsLimit(t.shape) {
                throw ONNXError.node(node, index: index, "input '\(name)' of shape \(t.shape) exceeds the limits (\(options.limits.maxElements) elements, rank \(options.limits.maxRank))")
            }
        }
        let loc = ONNXError.location(node, index: index)
        let before = g.diagnostics.count
        let nc = NodeContext(ctx: self, node: node, index: index, location: loc)
        let outs: [Tensor?] = try g.withLocation(loc) {
            try g.withScope(node.name.isEmpty ? node.opType : node.name) { try nc.convert() }
        }
        let ds = g.diagnostics
        if ds.count > before {
            throw ONNXError.node(node, index: index, ds[before...].map(\.message).joined(separator: "; "))
        }
        let half = halfPrecisionKind(node, nc)
        for (k, name) in node.output.enumerated() where !name.isEmpty {
            guard k < outs.count, var t = outs[k] else {
                throw ONNXError.node(node, index: index, "output \(k) ('\(name)') is not supported")
            }
            guard fitsLimit(t.shape) else {
                throw ONNXError.node(node, index: index, "output '\(name)' of shape \(t.shape) exceeds the limits (\(options.limits.maxElements) elements, rank \(options.limits.maxRank))")
            }
            if let kind = half, t.dtype.isFloatingPoint {
                // A 16-bit float value holds only 16-bit values: round what the node computed
                // (data movement gives values that already are).
                if !Self.movesData.contains(node.opType) {
                    t = g.withLocation(loc) { t.narrow(to: NarrowFormat(kind, saturate: false)) }
                }
                elemTypes[name] = ONNXTensor.code(of: kind)
            }
            values[name] = t
        }
        if let name = node.output.first, !name.isEmpty, half == nil {
            switch node.opType {
            case "Constant": elemTypes[name] = node.attribute.first { $0.name == "value" }?.t.dataType
            case "Where": elemTypes[name] = nc.elemType(1)
            case _ where Self.movesData.contains(node.opType): elemTypes[name] = nc.elemType(0)
            default: elemTypes[name] = nc.outputElemType
            }
        }
        // Fold small integer computations so later ops can read them as static values.
        if let folded = StaticEval.evaluate(nc) {
            for (k, name) in node.output.enumerated() where !name.isEmpty && k < folded.count {
                if let v = folded[k] { statics[name] = v }
            }
        }
        for (k, name) in node.output.enumerated() where !name.isEmpty {
            if statics[name] == nil, k < nc.producedStatics.count, let v = nc.producedStatics[k] { statics[name] = v }
        }
    }
}
