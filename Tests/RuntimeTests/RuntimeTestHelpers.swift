// Helpers for the runtime tests: Float64 reference arrays to and from HostTensors, tolerant comparison,
// and a runner that evaluates one op at O0 (naive) and O2 on placeholders (optionally with an unknown batch).
import XCTest
@testable import Runtime
import TestSupport

extension RefArray {
    /// As a HostTensor of `dtype` (floats round once; ints truncate).
    func host(_ dtype: DType = .float32) throws -> HostTensor {
        try HostTensor(values, shape: shape).converted(to: dtype)
    }
}

extension HostTensor {
    /// As a Float64 reference array.
    var ref: RefArray { RefArray(doubles, shape) }
}

/// Asserts `t` has `expected`'s shape and every element within `tol` (relative, absolute below 1).
func rtAssertClose(_ t: HostTensor, _ expected: RefArray, tol: Double, _ what: String = "",
                   file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(t.shape, expected.shape, "shape \(what)", file: file, line: line)
    guard t.shape == expected.shape else { return }
    let got = t.doubles
    var worst = 0.0, at = -1
    for i in 0..<got.count {
        let e = expected.values[i], g = got[i]
        if e.isNaN && g.isNaN { continue }
        if e.isInfinite && g == e { continue }
        let err = Swift.abs(g - e) / Swift.max(1, Swift.abs(e))
        if !(err <= worst) || err.isNaN { worst = err.isNaN ? .infinity : err; at = i }
    }
    XCTAssertLessThanOrEqual(worst, tol, "\(what): worst error \(worst) at \(at) (got \(at >= 0 ? got[at] : 0), want \(at >= 0 ? expected.values[at] : 0))",
                             file: file, line: line)
}

/// One input of an op under test.
struct RTInput {
    var value: RefArray
    var dtype: DType = .float32
    /// Make the placeholder's first dimension unknown.
    var unknownBatch: Bool = false
}

/// Builds `op` over placeholders for `inputs`, runs it at O0 and O2, and compares with `expected`.
func rtCheckOp(_ inputs: [RTInput], expected: RefArray, tol: Double, _ what: String = "",
               file: StaticString = #filePath, line: UInt = #line,
               _ build: ([Tensor]) -> Tensor) throws {
    for level in [OptimizationLevel.O0, .O2] {
        let g = Graph()
        var feeds: [Tensor: HostTensor] = [:]
        let ts = inputs.enumerated().map { k, input -> Tensor in
            var dims: [Int?] = input.value.shape.map { $0 }
            if input.unknownBatch && !dims.isEmpty { dims[0] = nil }
            return g.placeholder("in\(k)", shape: Shape(dims), dtype: input.dtype)
        }
        for (k, input) in inputs.enumerated() { feeds[ts[k]] = try input.value.host(input.dtype) }
        let out = build(ts)
        let s = try Session(g, options: SessionOptions(level: level))
        let r = try s.run(out, feeds: feeds)
        rtAssertClose(r, expected, tol: tol, "\(what) at \(level)", file: file, line: line)
    }
}

/// Tolerance for a float dtype.
func rtTol(_ d: DType) -> Double { d == .float64 ? 1e-12 : 2e-5 }
