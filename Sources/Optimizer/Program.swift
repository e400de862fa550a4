@_exported import Graph

/// A flat program for one fetch signature: what the optimizer produces and the runtime runs.
///
/// Instructions are in topological order; operands refer to earlier instructions by index.
/// Sources (placeholders, variables) keep the graph node they stand for in `origin`.
public struct Program: Sendable {
    /// One operation of the program.
    public struct Instruction: Sendable {
        /// What it computes.
        public var op: Op
        /// Operand instruction indices (all smaller than this instruction's index).
        public var inputs: [Int]
        /// Instructions that must run first although their values are not read.
        public var controlInputs: [Int]
        /// Static dtype.
        public var dtype: DType
        /// Static shape (unknown dimensions resolved at run time).
        public var shape: Shape
        /// Name, from the graph node (or made up by a pass).
        public var name: String
        /// The user's line that created the node it comes from.
        public var location: SourceLocation
        /// The graph node this instruction computes, when it computes exactly one.
        public var origin: NodeID?
        /// Forward, gradient or update (carried over for pictures and reports).
        public var role: NodeRole

        /// Creates an instruction.
        public init(op: Op, inputs: [Int], controlInputs: [Int] = [], dtype: DType, shape: Shape, name: String,
                    location: SourceLocation, origin: NodeID? = nil, role: NodeRole = .forward) {
            self.op = op
            self.inputs = inputs
            self.controlInputs = controlInputs
            self.dtype = dtype
            self.shape = shape
            self.name = name
            self.location = location
            self.origin = origin
            self.role = role
        }
    }

    /// The instructions, in execution order.
    public var instructions: [Instruction]
    /// The instruction computing each fetch, in fetch order.
    public var outputs: [Int]

    /// Creates a program.
    public init(instructions: [Instruction], outputs: [Int]) {
        self.instructions = instructions
        self.outputs = outputs
    }

    /// The number of instructions.
    public var count: Int { instructions.count }

    /// A text listing, one line per instruction.
    public func dump() -> String {
        instructions.enumerated().map { i, ins in
            let args = ins.inputs.map { "%\($0)" }.joined(separator: ", ")
            let out = outputs.contains(i) ? " -> output" : ""
            return "%\(i) = \(ins.op.name)(\(args)) : \(ins.dtype.shortName)\(ins.shape)  \(ins.name) @ \(ins.location)\(out)"
        }.joined(separator: "\n")
    }
}
