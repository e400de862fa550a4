import Graph

extension Program {
    /// How many times each instruction's value is used: by data inputs, by control inputs,
    /// and once more per appearance in ``outputs``.
    public func useCounts() -> [Int] {
        var uses = [Int](repeating: 0, count: instructions.count)
        for ins in instructions {
            for i in ins.inputs { uses[i] += 1 }
            for i in ins.controlInputs { uses[i] += 1 }
        }
        for o in outputs { uses[o] += 1 }
        return uses
    }

    /// Instructions that launch a kernel per run (everything but placeholders, variables, constants and groups).
    public var kernelCount: Int {
        instructions.reduce(0) { n, ins in
            switch ins.op {
            case .placeholder, .variable, .constant, .group: return n
            default: return n + 1
            }
        }
    }

    /// How many instructions have each op name (`matmul`, `fused(3)`, …), for tests and reports.
    public func opCounts() -> [String: Int] {
        var out: [String: Int] = [:]
        for ins in instructions { out[ins.op.kindName, default: 0] += 1 }
        return out
    }

    /// Removes instructions that no output reaches through data or control inputs.
    ///
    /// - Returns: how many instructions were removed.
    @discardableResult
    public mutating func eliminateDeadCode() -> Int {
        let n = instructions.count
        var live = [Bool](repeating: false, count: n)
        for o in outputs where o >= 0 && o < n { live[o] = true }
        for i in stride(from: n - 1, through: 0, by: -1) where live[i] {
            for j in instructions[i].inputs where j >= 0 && j < n { live[j] = true }
            for j in instructions[i].controlInputs where j >= 0 && j < n { live[j] = true }
        }
        let removed = live.lazy.filter { !$0 }.count
        if removed == 0 { return 0 }
        var index = [Int](repeating: -1, count: n)
        var out: [Instruction] = []
        out.reserveCapacity(n - removed)
        for i in 0..<n where live[i] {
            var ins = instructions[i]
            ins.inputs = ins.inputs.map { index[$0] }
            ins.controlInputs = ins.controlInputs.map { index[$0] }
            index[i] = out.count
            out.append(ins)
        }
        instructions = out
        outputs = outputs.map { index[$0] }
        return removed
    }
}

extension Op {
    /// The op's kind without attributes (`matmul`, `add`, `fused`, `linear`, `reduce.sum`, …), for counting.
    public var kindName: String {
        switch self {
        case .unary(let f): return f.name
        case .binary(let f): return f.rawValue
        case .reduce(let f, _, _): return f.rawValue
        case .matmul: return "matmul"
        case .fused: return "fused"
        case .linear: return "linear"
        case .assignMatMul: return "assignMatMul"
        case .fusedReduce: return "fusedReduce"
        case .constant: return "const"
        case .transpose: return "transpose"
        case .reshape: return "reshape"
        case .cast: return "cast"
        case .softmax: return "softmax"
        case .logSoftmax: return "logSoftmax"
        case .broadcastTo: return "broadcastTo"
        case .squeeze: return "squeeze"
        case .expandDims: return "expandDims"
        case .oneHot: return "oneHot"
        case .argReduce(let f, _, _): return f.rawValue
        default: return name
        }
    }
}

/// A pass that only removes dead instructions (values no output needs).
public struct DeadCodePass: Pass {
    /// "dce"
    public let name = "dce"
    /// Creates the pass.
    public init() {}
    /// Removes unreachable instructions; reports them as `removed`.
    public func run(_ program: inout Program) throws -> [String: Int] {
        ["removed": program.eliminateDeadCode()]
    }
}
