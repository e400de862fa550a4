import XCTest
@testable import Optimizer
import NN

/// The W1 training step and the W5 unrolled chain through the whole pipeline.
final class WorkloadTests: XCTestCase {
    /// W1 with its gradient and SGD updates grouped; `manualLoss` writes the loss as
    /// −mean(sum(oneHot · log(softmax))) instead of the fused op.
    static func w1Step(batch: Int?, manualLoss: Bool) throws -> (Workloads.Model, Tensor, [Tensor], Tensor) {
        let m = Workloads.mlp(batch: batch)
        let g = m.graph
        var loss = m.loss
        if manualLoss, let labels = m.labels {
            loss = -(oneHot(labels, depth: 10) * log(softmax(m.logits))).sum(axis: 1).mean()
        }
        let grads = try g.gradients(of: loss, with: m.parameters)
        let updates = g.withRole(.update) { zip(m.parameters, grads).map { p, d in p.assignSub(d * 0.01) } }
        let step = g.group(updates)
        return (m, loss, grads, step)
    }

    func testW1TrainingStepReport() throws {
        for manual in [false, true] {
            let (_, loss, _, step) = try Self.w1Step(batch: nil, manualLoss: manual)
            let (p0, r0) = try compile([loss, step], level: .O0)
            let (p, r) = try compile([loss, step])
            print("W1 training step (loss \(manual ? "written as -mean(sum(oneHot·log(softmax)))" : "softmaxCrossEntropy")):")
            print("O0: \(p0.count) instructions, \(r0.kernelCount) kernels")
            print(r)
            print(p.dump())
            XCTAssertEqual(kinds(p)["matmul"] ?? 0, 2, "dh2 and dh1 stay matmuls")
            XCTAssertEqual(kinds(p)["assignMatMul"] ?? 0, 3, "dW3, dW2, dW1 are GEMMs into the weights (fuse-update)")
            XCTAssertEqual(kinds(p)["linear"], 3, "each forward GEMM has its bias fused")
            XCTAssertGreaterThanOrEqual(r.fired("linear+activation"), 2, "both ReLUs fused into their GEMM")
            XCTAssertEqual(kinds(p)["softmaxCrossEntropy"], 1)
            XCTAssertEqual(kinds(p)["softmax"] ?? 0, 1, "softmax only for the gradient")
            XCTAssertEqual(kinds(p)["assignSub"], 3, "the bias updates")
            XCTAssertLessThan(r.kernelCount, r0.kernelCount)
            if manual {
                XCTAssertEqual(r.fired("softmax-cross-entropy"), 1)
                XCTAssertEqual(r.fired("log-softmax"), 1)
            }
        }
    }

    func testW1ValuesMatchO0() throws {
        let (m, loss, grads, _) = try Self.w1Step(batch: 4, manualLoss: false)
        let data = Workloads.mlpData(batch: 4)
        _ = m
        try assertSameValues([loss] + grads, feeds: ["x": data.x, "labels": data.labels], rtol: 1e-4, atol: 1e-6)
    }

    /// W5 (`SYMGRAPH_W5_STEPS` steps, default 1000) with its gradient: structure, and the
    /// compile time printed (measured, never asserted).
    func testW5ChainCompiles() throws {
        let steps = Int(ProcessInfo.processInfo.environment["SYMGRAPH_W5_STEPS"] ?? "") ?? 1000
        let (g, x0, loss) = Workloads.unrolledChain(steps: steps)
        let t0 = monotonicSeconds()
        let grads = try g.gradients(of: loss, with: [x0])
        let t1 = monotonicSeconds(), c1 = threadCPUSeconds()
        let (p, r) = try Compiler.compile(g, fetches: [loss.id], options: CompileOptions(level: .O2, verify: false))
        let t2 = monotonicSeconds(), c2 = threadCPUSeconds()
        let (pg, rg) = try Compiler.compile(g, fetches: [loss.id] + grads.map(\.id), options: CompileOptions(level: .O2, verify: false))
        let t3 = monotonicSeconds(), c3 = threadCPUSeconds()
        print("W5 \(steps) steps: graph \(g.nodeCount) nodes (gradients built in \(t1 - t0) s)")
        print("  forward: \(r.passes[0].instructionsAfter) → \(p.count) instructions, \(p.kernelCount) kernels, "
              + "compiled in \(t2 - t1) s wall, \(c2 - c1) s CPU")
        print("  forward + gradient: \(rg.passes[0].instructionsAfter) → \(pg.count) instructions, \(pg.kernelCount) kernels, "
              + "compiled in \(t3 - t2) s wall, \(c3 - c2) s CPU")
        print(rg)
        XCTAssertEqual(p.kernelCount, steps, "one fused kernel per step (the last one fused into the sum)")
        XCTAssertLessThan(pg.kernelCount, rg.passes[0].instructionsAfter / 2)
        // The verifier on a smaller chain (it re-infers every instruction).
        let small = Workloads.unrolledChain(steps: 200)
        let sg = try small.graph.gradients(of: small.loss, with: [small.x0])
        XCTAssertNoThrow(try compile([small.loss] + sg))
    }
}
