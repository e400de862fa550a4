import Graph

/// How a graph is written as ONNX.
public struct ONNXExportOptions: Sendable {
    /// The default-domain opset written (18: `Reduce*` axes are inputs).
    public var opset: Int
    /// Values for variables (for example a trained session's); others get their initializer's value.
    public var variableValues: [Tensor: HostTensor]
    /// The `producer_name` recorded in the model.
    public var producerName: String

    /// Creates options.
    public init(opset: Int = 18, variableValues: [Tensor: HostTensor] = [:], producerName: String = "SymGraph") {
        self.opset = opset
        self.variableValues = variableValues
        self.producerName = producerName
    }
}

/// Writes SymGraph graphs as ONNX models.
///
/// Placeholders become graph inputs, variables and constants initializers, and each op
/// one or a few ONNX nodes. Ops with no ONNX equivalent (state updates, optimizer-internal
/// fused ops, most gradient helpers) are a thrown error naming the node.
public enum ONNXExporter {
    /// Exports the part of `graph` that computes `outputs`.
    ///
    /// - Parameters:
    ///   - outputs: The tensors to compute, with their ONNX output names.
    ///   - graph: The graph (every output must belong to it).
    ///   - options: Opset, variable values, producer name.
    public static func export(outputs: [(name: String, tensor: Tensor)], of graph: Graph,
                              options: ONNXExportOptions = ONNXExportOptions()) throws -> Onnx_ModelProto {
        let e = Emitter(graph: graph, options: options)
        return try e.run(outputs)
    }

    /// Exports `outputs`, named after their nodes.
    public static func export(_ outputs: [Tensor], options: ONNXExportOptions = ONNXExportOptions()) throws -> Onnx_ModelProto {
        guard let g = outputs.first?.graph else { throw ONNXError.file("nothing to export") }
        return try export(outputs: outputs.map { ($0.name, $0) }, of: g, options: options)
    }
}

/// Builds ONNX nodes for graph nodes.
final class Emitter {
    let graph: Graph
    let options: ONNXExportOptions
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []
    var inputs: [Onnx_ValueInfoProto] = []
    var names: [NodeID: String] = [:]
    var used: Set<String> = []
    var counter = 0

    init(graph: Graph, options: ONNXExportOptions) {
        self.graph = graph
        self.options = options
    }

    func fresh(_ base: String) -> String {
        var n: String
        repeat { counter += 1; n = "\(base)__\(counter)" } while used.contains(n)
        used.insert(n)
        return n
    }

    func valueInfo(_ name: String, _ dtype: DType, _ shape: Shape) -> Onnx_ValueInfoProto {
        var vi = Onnx_ValueInfoProto()
        vi.name = name
        var tt = Onnx_TypeProto.Tensor()
        tt.elemType = ONNXTensor.code(of: dtype)
        var sp = Onnx_TensorShapeProto()
        sp.dim = shape.dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = Int64(d) }
            return dim
        }
        tt.shape = sp
        vi.type.tensorType = tt
        return vi
    }

    func run(_ outputs: [(name: String, tensor: Tensor)]) throws -> Onnx_ModelProto {
        for o in outputs where o.tensor.graph !== graph { throw ONNXError.file("output '\(o.name)' belongs to another graph") }
        // The nodes the outputs need, in creation (topological) order.
        var needed = Set<NodeID>()
        var stack = outputs.map(\.tensor.id)
        while let id = stack.popLast() {
            guard needed.insert(id).inserted else { continue }
            stack += graph.node(id).inputs
        }
        for id in needed.sorted() {
            let n = graph.node(id)
            guard !n.isInvalid else { throw ONNXError.file("node '\(n.name)' is invalid; validate the graph first") }
            var name = n.name
            if used.contains(name) { name = fresh(name) }
            used.insert(name)
            names[id] = name
        }
        for id in needed.sorted() { try emit(graph.node(id)) }
        var outInfos: [Onnx_ValueInfoProto] = []
        var outNames = Set<String>()
        for o in outputs {
            guard outNames.insert(o.name).inserted else { throw ONNXError.file("output name '\(o.name)' is used twice") }
            let src = names[o.tensor.id] ?? ""
            if src != o.name {
                guard !used.contains(o.name) else { throw ONNXError.file("output name '\(o.name)' clashes with another value") }
                used.insert(o.name)
                node("Identity", [src], [o.name])
            }
            outInfos.append(valueInfo(o.name, o.tensor.dtype, o.tensor.shape))
        }
        var g = Onnx_GraphProto()
        g.name = "symgraph"
        g.node = nodes
        g.initializer = initializers
        g.input = inputs
        g.output = outInfos
        var m = Onnx_ModelProto()
        m.irVersion = 8
        m.producerName = options.producerName
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Int64(options.opset)
        m.opsetImport = [opset]
        m.graph = g
        return m
    }

    // MARK: Emission helpers

    @discardableResult
    func node(_ op: String, _ ins: [String], _ outs: [String], _ attrs: [Onnx_AttributeProto] = []) -> [String] {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = ins
        n.output = outs
        n.attribute = attrs
        n.name = outs.first.map { "\(op):\($0)" } ?? op
        nodes.append(n)
        return outs
    }

    /// A node with one fresh output; returns the output's name.
    func tmp(_ op: String, _ ins: [String], _ attrs: [Onnx_AttributeProto] = []) -> String {
        node(op, ins, [fresh(op.lowercased())], attrs)[0]
    }

    func constant(_ t: HostTensor, _ base: String = "const") -> String {
        let name = fresh(base)
        initializers.append(ONNXTensor.proto(t, name: name))
        return name
    }
    func ints(_ v: [Int]) -> String { constant(HostTensor(v.map { Int64($0) }), "ints") }
    func scalar(_ v: Double, _ d: DType) -> String { constant(HostTensor(filled: v, dtype: d, shape: []), "scalar") }

    func attr(_ name: String, int v: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .int; a.i = Int64(v); return a
    }
    func attr(_ name: String, ints v: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = v.map { Int64($0) }; return a
    }
    func attr(_ name: String, float v: Double) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .float; a.f = Float(v); return a
    }
    func attr(_ name: String, string v: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .string; a.s = Array(v.utf8).withUnsafeBufferPointer { .init($0) }; return a
    }
    func attr(_ name: String, tensor v: HostTensor) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .tensor; a.t = ONNXTensor.proto(v, name: ""); return a
    }

    func unsupported(_ n: Node, _ why: String = "has no ONNX equivalent") -> GraphError {
        .node(Diagnostic(nodeName: n.name, op: n.op.name, inputs: n.inputs.map { graph.node($0).name },
                         message: "cannot export to ONNX: \(n.op.name) \(why)", location: n.location))
    }

    func windowAttrs(kernel: (Int, Int)?, strides: (Int, Int), dilations: (Int, Int)?, padding: Padding) -> [Onnx_AttributeProto] {
        var a: [Onnx_AttributeProto] = []
        if let k = kernel { a.append(attr("kernel_shape", ints: [k.0, k.1])) }
        a.append(attr("strides", ints: [strides.0, strides.1]))
        if let d = dilations { a.append(attr("dilations", ints: [d.0, d.1])) }
        switch padding {
        case .valid: a.append(attr("pads", ints: [0, 0, 0, 0]))
        case .same: a.append(attr("auto_pad", string: "SAME_UPPER"))
        case .explicit(let t, let b, let l, let r): a.append(attr("pads", ints: [t, l, b, r]))
        }
        return a
    }

    // MARK: Ops

    func emit(_ n: Node) throws {
        guard let out = names[n.id] else { return }
        let ins = n.inputs.map { names[$0] ?? "" }
        let d = n.dtype
        switch n.op {
        case .placeholder:
            inputs.append(valueInfo(out, n.dtype, n.shape))
        case .variable(let initializer, let seed):
            let v = options.variableValues[graph.tensor(n.id)]
                ?? DeterministicRandom.initialTensor(initializer, shape: n.shape.known ?? [], dtype: n.dtype, seed: seed)
            initializers.append(ONNXTensor.proto(v, name: out))
        case .constant(let t):
            initializers.append(ONNXTensor.proto(t, name: out))
        case .unary(let f):
            try unary(f, ins[0], out, d, n)
        case .binary(let f):
            switch f {
            case .add: node("Add", ins, [out])
            case .sub: node("Sub", ins, [out])
            case .mul: node("Mul", ins, [out])
            case .div: node("Div", ins, [out])
            case .pow: node("Pow", ins, [out])
            case .maximum: node("Max", ins, [out])
            case .minimum: node("Min", ins, [out])
            case .equal: node("Equal", ins, [out])
            case .notEqual: node("Not", [tmp("Equal", ins)], [out])
            case .less: node("Less", ins, [out])
            case .lessEqual: node("LessOrEqual", ins, [out])
            case .greater: node("Greater", ins, [out])
            case .greaterEqual: node("GreaterOrEqual", ins, [out])
            case .logicalAnd: node("And", ins, [out])
            case .logicalOr: node("Or", ins, [out])
            case .bitwiseAnd: node("BitwiseAnd", ins, [out])
            case .bitwiseOr: node("BitwiseOr", ins, [out])
            case .bitwiseXor: node("BitwiseXor", ins, [out])
            case .shiftLeft: node("BitShift", ins, [out], [attr("direction", string: "LEFT")])
            case .shiftRight: node("BitShift", ins, [out], [attr("direction", string: "RIGHT")])
            }
        case .select: node("Where", ins, [out])
        case .cast(let to): node("Cast", ins, [out], [attr("to", int: Int(ONNXTensor.code(of: to)))])
        case .identity, .stopGradient: node("Identity", ins, [out])
        case .matmul(let ta, let tb):
            let a = ta ? transposeLast2(ins[0], rank: graph.node(n.inputs[0]).shape.rank) : ins[0]
            let b = tb ? transposeLast2(ins[1], rank: graph.node(n.inputs[1]).shape.rank) : ins[1]
            node("MatMul", [a, b], [out])
        case .linear(let ta, let tb, let act):
            let a = ta ? transposeLast2(ins[0], rank: graph.node(n.inputs[0]).shape.rank) : ins[0]
            let b = tb ? transposeLast2(ins[1], rank: graph.node(n.inputs[1]).shape.rank) : ins[1]
            let mm = tmp("MatMul", [a, b])
            if let act {
                try unary(act, tmp("Add", [mm, ins[2]]), out, d, n)
            } else {
                node("Add", [mm, ins[2]], [out])
            }
        case .reduce(let f, let axes, let keep):
            guard !axes.isEmpty else { node("Identity", ins, [out]); return }
            let op: String
            switch f {
            case .sum: op = "ReduceSum"
            case .mean: op = "ReduceMean"
            case .max: op = "ReduceMax"
            case .min: op = "ReduceMin"
            case .prod: op = "ReduceProd"
            case .logsumexp: op = "ReduceLogSumExp"
            }
            node(op, [ins[0], ints(axes)], [out], [attr("keepdims", int: keep ? 1 : 0)])
        case .argReduce(let f, let axis, let keep):
            node(f == .argmax ? "ArgMax" : "ArgMin", ins, [out], [attr("axis", int: axis), attr("keepdims", int: keep ? 1 : 0)])
        case .reshape(let s):
            node("Reshape", [ins[0], ints(s)], [out], s.contains(0) ? [attr("allowzero", int: 1)] : [])
        case .transpose(let p): node("Transpose", ins, [out], [attr("perm", ints: p)])
        case .broadcastTo(let s): node("Expand", [ins[0], ints(s)], [out])
        case .squeeze(let axes):
            if axes.isEmpty { node("Identity", ins, [out]) } else { node("Squeeze", [ins[0], ints(axes)], [out]) }
        case .expandDims(let a): node("Unsqueeze", [ins[0], ints([a])], [out])
        case .concat(let a): node("Concat", ins, [out], [attr("axis", int: a)])
        case .slice(let spec):
            var starts: [Int] = [], ends: [Int] = [], axes: [Int] = [], steps: [Int] = []
            let big = Int(Int64.max), small = Int(Int64.min)
            for i in 0..<spec.begin.count {
                let s = spec.stride[i]
                if spec.begin[i] == nil && spec.end[i] == nil && s == 1 { continue }
                axes.append(i)
                steps.append(s)
                starts.append(spec.begin[i] ?? (s > 0 ? 0 : big))
                ends.append(spec.end[i] ?? (s > 0 ? big : small))
            }
            if axes.isEmpty { node("Identity", ins, [out]) } else {
                node("Slice", [ins[0], ints(starts), ints(ends), ints(axes), ints(steps)], [out])
            }
        case .gather(let a): node("Gather", ins, [out], [attr("axis", int: a)])
        case .pad(let widths, let value):
            let pads = widths.map(\.before) + widths.map(\.after)
            node("Pad", [ins[0], ints(pads), scalar(value, d)], [out], [attr("mode", string: "constant")])
        case .tile(let m): node("Tile", [ins[0], ints(m)], [out])
        case .softmax(let a): node("Softmax", ins, [out], [attr("axis", int: a)])
        case .logSoftmax(let a): node("LogSoftmax", ins, [out], [attr("axis", int: a)])
        case .conv2d(let c):
            node("Conv", ins, [out], windowAttrs(kernel: nil, strides: (c.strideH, c.strideW),
                                                 dilations: (c.dilationH, c.dilationW), padding: c.padding))
        case .maxPool2d(let c), .avgPool2d(let c):
            var a = windowAttrs(kernel: (c.kernelH, c.kernelW), strides: (c.strideH, c.strideW), dilations: nil, padding: c.padding)
            let isMax: Bool
            if case .maxPool2d = n.op { isMax = true } else { isMax = false; a.append(attr("count_include_pad", int: 0)) }
            node(isMax ? "MaxPool" : "AveragePool", ins, [out], a)
        case .oneHot(let depth, let dtype):
            let values = constant(try HostTensor([0, 1] as [Double], shape: [2]).converted(to: dtype), "onehot_values")
            let idx = tmp("Cast", [ins[0]], [attr("to", int: 7)])
            node("OneHot", [idx, ints([depth]), values], [out], [attr("axis", int: -1)])
        case .softmaxCrossEntropy:
            // logsumexp(logits) - Σ logits · onehot(labels): ONNX ops the importer reads back.
            let logits = graph.node(n.inputs[0])
            guard let classes = logits.shape.dims.last ?? nil else { throw unsupported(n, "needs a known class count") }
            let lse = tmp("ReduceLogSumExp", [ins[0], ints([-1])], [attr("keepdims", int: 0)])
            let values = constant(try HostTensor([0, 1] as [Double], shape: [2]).converted(to: logits.dtype), "onehot_values")
            let labels = tmp("Cast", [ins[1]], [attr("to", int: 7)])
            let hot = tmp("OneHot", [labels, ints([classes]), values], [attr("axis", int: -1)])
            let picked = tmp("ReduceSum", [tmp("Mul", [ins[0], hot]), ints([-1])], [attr("keepdims", int: 0)])
            node("Sub", [lse, picked], [out])
        case .random(let dist, let seed, let shape):
            var a: [Onnx_AttributeProto] = [attr("seed", float: Double(seed % (1 << 24))), attr("dtype", int: 1)]
            let op: String
            switch dist {
            case .uniform(let lo, let hi): op = "RandomUniform"; a += [attr("low", float: lo), attr("high", float: hi)]
            case .normal(let m, let s): op = "RandomNormal"; a += [attr("mean", float: m), attr("scale", float: s)]
            }
            if ins.isEmpty {
                guard let k = Shape(shape).known else { throw unsupported(n, "needs a known shape") }
                node(op, [], [out], a + [attr("shape", ints: k)])
            } else {
                node(op + "Like", ins, [out], a)
            }
        case .broadcastLike: node("Expand", [ins[0], tmp("Shape", [ins[1]])], [out])
        case .reshapeLike: node("Reshape", [ins[0], tmp("Shape", [ins[1]])], [out])
        case .sumLike:
            let xs = graph.node(n.inputs[0]).shape, ls = graph.node(n.inputs[1]).shape
            guard let xk = xs.known, let lk = ls.known else { throw unsupported(n, "needs known shapes") }
            let lead = xk.count - lk.count
            let axes = (0..<xk.count).filter { $0 < lead || (lk[$0 - lead] == 1 && xk[$0] != 1) }
            let summed = axes.isEmpty ? ins[0] : tmp("ReduceSum", [ins[0], ints(axes)], [attr("keepdims", int: 1)])
            node("Reshape", [summed, ints(lk)], [out])
        case .assign, .assignMatMul, .group, .fused, .fusedReduce, .sliceBackward, .gatherBackward, .conv2dBackwardInput,
             .conv2dBackwardFilter, .maxPool2dBackward, .avgPool2dBackward:
            throw unsupported(n)
        }
    }

    func transposeLast2(_ x: String, rank: Int) -> String {
        var p = Array(0..<rank)
        if rank >= 2 { p.swapAt(rank - 1, rank - 2) }
        return tmp("Transpose", [x], [attr("perm", ints: p)])
    }

    func unary(_ f: UnaryFunction, _ x: String, _ out: String, _ d: DType, _ n: Node) throws {
        switch f {
        case .neg: node("Neg", [x], [out])
        case .abs: node("Abs", [x], [out])
        case .sign: node("Sign", [x], [out])
        case .exp: node("Exp", [x], [out])
        case .log: node("Log", [x], [out])
        case .log1p: node("Log", [tmp("Add", [x, scalar(1, d)])], [out])
        case .expm1: node("Sub", [tmp("Exp", [x]), scalar(1, d)], [out])
        case .sqrt: node("Sqrt", [x], [out])
        case .rsqrt: node("Reciprocal", [tmp("Sqrt", [x])], [out])
        case .square: node("Mul", [x, x], [out])
        case .reciprocal: node("Reciprocal", [x], [out])
        case .sin: node("Sin", [x], [out])
        case .cos: node("Cos", [x], [out])
        case .tanh: node("Tanh", [x], [out])
        case .sigmoid: node("Sigmoid", [x], [out])
        case .relu: node("Relu", [x], [out])
        case .leakyRelu(let a): node("LeakyRelu", [x], [out], [attr("alpha", float: a)])
        case .elu(let a): node("Elu", [x], [out], [attr("alpha", float: a)])
        case .softplus: node("Softplus", [x], [out])
        case .erf: node("Erf", [x], [out])
        case .gelu:
            let e = tmp("Erf", [tmp("Div", [x, scalar(2.0.squareRoot(), d)])])
            node("Mul", [tmp("Mul", [x, scalar(0.5, d)]), tmp("Add", [e, scalar(1, d)])], [out])
        case .floor: node("Floor", [x], [out])
        case .ceil: node("Ceil", [x], [out])
        case .round: node("Round", [x], [out])
        case .logicalNot: node("Not", [x], [out])
        case .bitwiseNot: node("BitwiseNot", [x], [out])
        case .narrow(let format):
            // A cast to the narrow type and back.
            let code = ONNXTensor.code(of: format.kind)
            let needed = ONNXTensor.minimumOpset(of: format.kind)
            guard options.opset >= needed else {
                throw unsupported(n, "narrowing to \(format.kind) needs opset \(needed) (exporting opset \(options.opset))")
            }
            var attrs = [attr("to", int: Int(code))]
            if format.kind.isFloatingPoint, ![.float16, .bfloat16, .float4E2M1].contains(format.kind), options.opset >= 19 {
                attrs.append(attr("saturate", int: format.saturate ? 1 : 0))
            }
            if format.kind == .float8E8M0 {
                attrs.append(attr("round_mode", string: format.rounding == .nearest ? "nearest" : "\(format.rounding)"))
            }
            node("Cast", [tmp("Cast", [x], attrs)], [out], [attr("to", int: Int(ONNXTensor.code(of: d)))])
        }
    }
}
