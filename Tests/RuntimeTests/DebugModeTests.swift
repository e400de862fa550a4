import XCTest
@testable import Runtime

/// Debug mode (O2 against O0 on the same feeds) and constant folding through the runtime's kernels.
final class DebugModeTests: XCTestCase {
    func testNoDivergenceOnAnOrdinaryGraph() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [nil, 3])
        let w = g.variable("w", initializer: .glorotUniform, shape: [3, 4], seed: 3)
        let y = relu(x.matmul(w) + 1.0).sum(axis: 1)
        let s = try Session(g)
        let feed = try HostTensor([Float](arrayLiteral: 1, -2, 3, 0.5, 0.25, -1), shape: [2, 3])
        XCTAssertNil(try s.debugCompare([y], feeds: [x: feed]))
    }

    func testStabilizedNodeIsNamedWithItsLine() throws {
        let g = Graph()
        let x = g.placeholder("x", shape: [2])
        let line = #line + 1
        let lsm = log(softmax(x), file: #fileID, line: line)
        let s = try Session(g)
        let d = try XCTUnwrap(try s.debugCompare([lsm], feeds: [x: HostTensor([Float(1000), 0])]))
        // O0 computes log(0) = -inf where the stabilized O2 plan gives -1000: the first differing node is
        // the softmax or the log, and the message carries the user's line.
        XCTAssertTrue(d.description.contains("\(#fileID):"), d.description)
        XCTAssertTrue(["softmax", "log"].contains(d.name), d.name)
        XCTAssertTrue(d.maxDifference > 1, "\(d.maxDifference)")
        _ = line
    }

    func testUpdatesApplyOnce() throws {
        let g = Graph()
        let v = g.variable("counter", initializer: .zeros, shape: [])
        let inc = v.assignAdd(g.constant(1))
        let s = try Session(g)
        _ = try s.debugCompare([inc])
        XCTAssertEqual(try s.variable(v).doubles, [1])
    }

    func testConstantSubgraphsAreFoldedWithRuntimeKernels() throws {
        let g = Graph()
        let c = exp(g.constant([Float(0), 1, 2], shape: [3])) * 2.0
        let x = g.placeholder("x", shape: [3])
        let y = x + c
        let s = try Session(g)
        let report = try s.compileReport(for: [y], feeds: [x: HostTensor([Float](repeating: 0, count: 3))])
        XCTAssertTrue(report.description.contains("fold"), report.description)
        let r = try s.run(y, feeds: [x: HostTensor([Float](arrayLiteral: 1, 1, 1))]).doubles
        for (a, e) in zip(r, [0.0, 1, 2].map { 1 + 2 * Foundation.exp($0) }) { XCTAssertEqual(a, e, accuracy: 1e-5 * e) }
    }
}

import Foundation
