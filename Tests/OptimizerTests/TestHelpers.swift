import XCTest
@testable import Optimizer

/// Compiles `fetches` at `level` with the verifier on and the reference evaluator for folding.
func compile(_ fetches: [Tensor], level: OptimizationLevel = .O2, disabled: Set<String> = [],
             file: StaticString = #filePath, line: UInt = #line) throws -> (Program, CompileReport) {
    guard let g = fetches.first?.graph else { throw RefError(description: "no fetches") }
    return try Compiler.compile(g, fetches: fetches.map(\.id),
                                options: CompileOptions(level: level, disabledPasses: disabled, verify: true,
                                                        evaluator: ReferenceEvaluator()))
}

/// The number of instructions of each op kind.
func kinds(_ p: Program) -> [String: Int] { p.opCounts() }

/// Runs `fetches` at O0 and at `level` with the reference interpreter and checks the outputs agree.
@discardableResult
func assertSameValues(_ fetches: [Tensor], feeds: [String: HostTensor], level: OptimizationLevel = .O2,
                      rtol: Double = 1e-5, atol: Double = 1e-6, file: StaticString = #filePath, line: UInt = #line) throws
    -> (naive: [Arr], optimized: [Arr])
{
    let (p0, _) = try compile(fetches, level: .O0)
    let (p2, _) = try compile(fetches, level: level)
    let a = try Ref.outputs(p0, feeds: feeds)
    let b = try Ref.outputs(p2, feeds: feeds)
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) {
        XCTAssertEqual(x.shape, y.shape, file: file, line: line)
        for (u, v) in zip(x.data, y.data) {
            if u.isNaN || v.isNaN { XCTAssertEqual(u.isNaN, v.isNaN, "NaN mismatch", file: file, line: line); continue }
            if u.isInfinite || v.isInfinite { XCTAssertEqual(u, v, file: file, line: line); continue }
            XCTAssertLessThanOrEqual(Swift.abs(u - v), atol + rtol * Swift.abs(u), "O0 \(u) vs \(level) \(v)", file: file, line: line)
        }
    }
    return (a, b)
}

func floats(_ v: [Float], _ shape: [Int]) -> HostTensor {
    (try? HostTensor(v, shape: shape)) ?? HostTensor(zeros: .float32, shape: shape)
}
