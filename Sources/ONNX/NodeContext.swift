import Graph

/// One ONNX node being converted: access to its inputs, static values and attributes.
final class NodeContext {
    let ctx: ImportContext
    let node: Onnx_NodeProto
    let index: Int
    let location: SourceLocation
    /// Static values of outputs that converters know (constants they made).
    var producedStatics: [HostTensor?] = []
    /// The ONNX element type of output 0 when a converter knows it (Cast: a narrow type).
    var outputElemType: Int32?

    init(ctx: ImportContext, node: Onnx_NodeProto, index: Int, location: SourceLocation) {
        self.ctx = ctx
        self.node = node
        self.index = index
        self.location = location
    }

    var g: Graph { ctx.g }
    var opset: Int { ctx.opset }
    var limits: ONNXLimits { ctx.options.limits }

    /// An error naming this node.
    func fail(_ message: String) -> GraphError { ONNXError.node(node, index: index, message) }

    // MARK: Inputs

    /// Whether input `i` is present (not omitted).
    func has(_ i: Int) -> Bool { i < node.input.count && !node.input[i].isEmpty }

    /// Input `i` (required).
    func input(_ i: Int) throws -> Tensor {
        guard has(i), let t = ctx.values[node.input[i]] else { throw fail("needs input \(i)") }
        return t
    }

    /// Input `i` when present.
    func optInput(_ i: Int) throws -> Tensor? { has(i) ? try input(i) : nil }

    /// All present inputs.
    func allInputs() throws -> [Tensor] {
        try (0..<node.input.count).filter { has($0) }.map { try input($0) }
    }

    /// The ONNX element type of input `i`, where it is known (graph inputs, initializers,
    /// Constants, Casts and what passes them through unchanged).
    func elemType(_ i: Int) -> Int32? { has(i) ? ctx.elemTypes[node.input[i]] : nil }

    /// The import-time value of input `i`, if known.
    func staticIfKnown(_ i: Int) -> HostTensor? { has(i) ? ctx.statics[node.input[i]] : nil }

    /// The import-time value of input `i` (required).
    func staticValue(_ i: Int, _ what: String) throws -> HostTensor {
        guard has(i) else { throw fail("needs input \(i) (\(what))") }
        guard let v = ctx.statics[node.input[i]] else {
            throw fail("\(what) (input \(i), '\(node.input[i])') must be known at import time: an initializer, a Constant, or computed from those")
        }
        return v
    }

    /// The import-time value of integer input `i` as Ints, clamped to ±2^50.
    func staticInts(_ i: Int, _ what: String) throws -> [Int] {
        let v = try staticValue(i, what)
        guard v.dtype.isInteger else { throw fail("\(what) must be int32 or int64, got \(v.dtype)") }
        guard v.count <= 1 << 20 else { throw fail("\(what) has \(v.count) elements") }
        return intValues(v)
    }

    /// Optional integer input `i` as Ints.
    func optStaticInts(_ i: Int, _ what: String) throws -> [Int]? { has(i) ? try staticInts(i, what) : nil }

    /// Integer elements clamped to ±2^50 (so index arithmetic cannot overflow).
    func intValues(_ v: HostTensor) -> [Int] {
        let lim: Int64 = 1 << 50
        switch v.dtype {
        case .int64: return v.withUnsafeBufferPointer(as: Int64.self) { $0.map { Int(Swift.min(Swift.max($0, -lim), lim)) } }
        case .int32: return v.withUnsafeBufferPointer(as: Int32.self) { $0.map { Int($0) } }
        default: return v.doubles.map { Int(Swift.min(Swift.max($0, -Double(lim)), Double(lim))) }
        }
    }

    // MARK: Attributes

    /// The attribute with this name.
    func attr(_ name: String) throws -> Onnx_AttributeProto? {
        guard let a = node.attribute.first(where: { $0.name == name }) else { return nil }
        guard a.refAttrName.isEmpty else { throw fail("attribute '\(name)' refers to a function attribute (not supported)") }
        return a
    }

    /// An integer attribute, clamped to ±2^50.
    func int(_ name: String, _ def: Int) throws -> Int {
        guard let a = try attr(name) else { return def }
        return Int(Swift.min(Swift.max(a.i, -(1 << 50)), 1 << 50))
    }

    /// An integer-list attribute, clamped to ±2^50.
    func ints(_ name: String) throws -> [Int]? {
        guard let a = try attr(name) else { return nil }
        guard a.ints.count <= 1 << 16 else { throw fail("attribute '\(name)' has \(a.ints.count) values") }
        return a.ints.map { Int(Swift.min(Swift.max($0, -(1 << 50)), 1 << 50)) }
    }

    /// A float attribute.
    func float(_ name: String, _ def: Double) throws -> Double {
        guard let a = try attr(name) else { return def }
        return Double(a.f)
    }

    /// A string attribute.
    func string(_ name: String, _ def: String) throws -> String {
        guard let a = try attr(name) else { return def }
        return String(decoding: a.s, as: UTF8.self)
    }

    /// A tensor attribute.
    func tensorAttr(_ name: String) throws -> HostTensor? {
        guard let a = try attr(name), a.hasT else { return nil }
        let v = try ONNXTensor.hostTensor(a.t, limits: limits, folder: ctx.options.modelFolder)
        try ctx.account(v, what: "attribute '\(name)'")
        return v
    }

    // MARK: Building helpers

    /// A scalar constant.
    func scalar(_ v: Double, _ dtype: DType) -> Tensor {
        g.constant(HostTensor(filled: v, dtype: dtype.isNumeric ? dtype : .float32, shape: []))
    }

    /// A constant that is also recorded as the static value of output `k`.
    func constantOutput(_ v: HostTensor, output k: Int = 0) -> Tensor {
        while producedStatics.count <= k { producedStatics.append(nil) }
        producedStatics[k] = v
        return g.constant(v)
    }

    /// Normalizes an axis against a rank, or throws naming the node.
    func axis(_ a: Int, rank: Int, _ what: String = "axis") throws -> Int {
        guard let n = normalizeAxis(a, rank: rank) else { throw fail("\(what) \(a) is out of range for rank \(rank)") }
        return n
    }

    /// Checks a concrete target shape (sizes ≥ -1 where `allowInferred`) against the element limit.
    func checkShape(_ dims: [Int], allowInferred: Bool = false, _ what: String) throws {
        guard dims.count <= limits.maxRank else { throw fail("\(what) \(dims) has rank above \(limits.maxRank)") }
        var n = 1
        for d in dims {
            if d == -1 && allowInferred { continue }
            guard d >= 0 else { throw fail("\(what) \(dims) has a negative dimension") }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o, p <= limits.maxElements else { throw fail("\(what) \(dims) has more than \(limits.maxElements) elements") }
            n = p
        }
    }

    /// Checks that a tensor's static shape (where known) stays under the element limit.
    func checkResult(_ t: Tensor) throws -> Tensor {
        let known = t.shape.dims.compactMap { $0 }
        var n = 1
        for d in known {
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o, p <= limits.maxElements else { throw fail("the result \(t.shape) has more than \(limits.maxElements) elements") }
            n = p
        }
        return t
    }

    /// Slices one axis (others untouched).
    func sliceAxis(_ x: Tensor, axis: Int, begin: Int?, end: Int?, stride: Int = 1) -> Tensor {
        var b = [Int?](repeating: nil, count: axis + 1), e = b
        var s = [Int](repeating: 1, count: axis + 1)
        b[axis] = begin
        e[axis] = end
        s[axis] = stride
        return x.slice(begin: b, end: e, strides: s)
    }
}
