import Graph

/// Bounds on what the ONNX reader accepts, so a hostile or corrupt file is a thrown error
/// rather than a crash or an unbounded allocation.
public struct ONNXLimits: Sendable, Hashable {
    /// Largest accepted model or tensor file, in bytes (protobuf's own limit is 2 GiB).
    public var maxFileBytes: Int
    /// Largest element count of one tensor (2^31 by default).
    public var maxElements: Int
    /// Largest size of one tensor's data, in bytes.
    public var maxTensorBytes: Int
    /// Largest total size of all initializers and constants of a model, in bytes.
    public var maxTotalBytes: Int
    /// Largest tensor rank.
    public var maxRank: Int
    /// Largest number of nodes in a graph.
    public var maxNodes: Int

    /// Creates limits; the defaults suit models up to a few GiB.
    public init(maxFileBytes: Int = Int(Int32.max), maxElements: Int = 1 << 31, maxTensorBytes: Int = 1 << 33,
                maxTotalBytes: Int = 1 << 34, maxRank: Int = 32, maxNodes: Int = 1 << 22) {
        self.maxFileBytes = maxFileBytes
        self.maxElements = maxElements
        self.maxTensorBytes = maxTensorBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxRank = maxRank
        self.maxNodes = maxNodes
    }

    /// Checks a concrete shape and returns its element count.
    func elementCount(_ dims: [Int64], what: String) throws -> Int {
        guard dims.count <= maxRank else { throw ONNXError.file("\(what): rank \(dims.count) exceeds the limit of \(maxRank)") }
        var n = 1
        for d in dims {
            guard d >= 0 else { throw ONNXError.file("\(what): negative dimension \(d) in \(dims)") }
            let (p, overflow) = n.multipliedReportingOverflow(by: Int(d))
            guard !overflow, p <= maxElements else {
                throw ONNXError.file("\(what): shape \(dims) has more than \(maxElements) elements")
            }
            n = p
        }
        return n
    }
}

/// Makes the `GraphError`s the ONNX module throws.
enum ONNXError {
    /// A problem with a file or value as a whole.
    static func file(_ message: String) -> GraphError { .invalidValue("ONNX: " + message) }

    /// A problem with one ONNX node: names it, its op and its position in the graph.
    static func node(_ n: Onnx_NodeProto, index: Int, _ message: String) -> GraphError {
        .node(Diagnostic(nodeName: n.name.isEmpty ? "node #\(index)" : n.name, op: n.opType,
                         inputs: n.input, message: message, location: location(n, index: index)))
    }

    /// The source location recorded on nodes made for ONNX node `index`.
    static func location(_ n: Onnx_NodeProto, index: Int) -> SourceLocation {
        SourceLocation(file: "onnx:" + (n.name.isEmpty ? n.opType : n.name), line: index)
    }
}
