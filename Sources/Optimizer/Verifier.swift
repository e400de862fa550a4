import Graph

/// Checks the invariants of a ``Program`` (XLA's HloVerifier in spirit): operands precede
/// their users, each op gets the number of operands it takes, inference from the operands'
/// types reproduces every instruction's dtype and static shape, and outputs are valid.
public enum Verifier {
    /// Throws ``GraphError/node(_:)`` naming the first instruction that breaks an invariant.
    ///
    /// - Parameter pass: the pass that just ran (named in the message).
    public static func verify(_ program: Program, after pass: String = "") throws {
        let ins = program.instructions
        func fail(_ i: Int, _ msg: String) -> GraphError {
            let x = ins[i]
            return GraphError.node(Diagnostic(
                nodeName: x.name, op: x.op.name,
                inputs: x.inputs.map { $0 >= 0 && $0 < ins.count ? "%\($0): \(ins[$0].dtype.shortName)\(ins[$0].shape)" : "%\($0)" },
                message: "program verifier" + (pass.isEmpty ? "" : " (after pass '\(pass)')") + ": instruction %\(i) " + msg,
                location: x.location))
        }
        for (i, x) in ins.enumerated() {
            for j in x.inputs where j < 0 || j >= i { throw fail(i, "reads %\(j), which does not precede it") }
            for j in x.controlInputs where j < 0 || j >= i { throw fail(i, "has control input %\(j), which does not precede it") }
            if let n = x.op.arity, x.inputs.count != n {
                if case .random = x.op, x.inputs.count <= 1 {} else {
                    throw fail(i, "has \(x.inputs.count) operand(s), \(x.op.name) takes \(n)")
                }
            }
            switch x.op {
            case .placeholder, .variable:
                continue
            case .fused(let p), .fusedReduce(_, _, _, let p):
                if let e = checkFused(p) { throw fail(i, e) }
            default: break
            }
            let types = x.inputs.map { (ins[$0].dtype, ins[$0].shape) }
            switch x.op.infer(inputs: types) {
            case .failure(let p):
                throw fail(i, "does not type-check: \(p.message)")
            case .success(let t):
                guard t.dtype == x.dtype, t.shape == x.shape else {
                    throw fail(i, "is recorded as \(x.dtype.shortName)\(x.shape) but its operands give \(t.dtype.shortName)\(t.shape)")
                }
            }
        }
        for o in program.outputs where o < 0 || o >= ins.count {
            throw GraphError.invalidValue("program verifier" + (pass.isEmpty ? "" : " (after pass '\(pass)')")
                                          + ": output %\(o) is not an instruction")
        }
    }

    /// The problem with a fused program's steps, if any: operands must precede their step.
    static func checkFused(_ p: FusedProgram) -> String? {
        guard p.steps.count == p.dtypes.count, !p.steps.isEmpty else { return "has a malformed fused program" }
        for (k, s) in p.steps.enumerated() {
            let operands: [Int]
            switch s {
            case .input, .constant: operands = []
            case .unary(_, let a), .cast(_, let a): operands = [a]
            case .binary(_, let a, let b): operands = [a, b]
            case .select(let c, let a, let b): operands = [c, a, b]
            }
            if operands.contains(where: { $0 < 0 || $0 >= k }) { return "has fused step \(k) reading a later step" }
        }
        return nil
    }
}
