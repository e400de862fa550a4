import XCTest
@testable import Bench

/// The benchmark report: parsing the peers' JSON lines and the tables (no timing is asserted).
final class ReportTests: XCTestCase {
    func testPeerLinesParse() {
        let text = """
        {"framework": "jax", "workload": "W5", "n": 100, "median_ms": 3022.5, "min_ms": 3022.0, "check": "ok", "run_ms": 1.25}
        not json
        {"framework": "x", "workload": "error", "error": "pip install \\"x\\" failed"}
        """
        let r = parsePeerLines(text)
        XCTAssertEqual(r.count, 2)
        XCTAssertEqual(r[0].framework, "jax")
        XCTAssertEqual(r[0].n, 100)
        XCTAssertEqual(r[0].medianMs, 3022.5)
        XCTAssertEqual(r[0].runMs, 1.25)
        XCTAssertEqual(r[0].check, "ok")
        XCTAssertEqual(r[1].error, "pip install \"x\" failed")
    }

    func testTablesShowRatiosAndFailures() {
        let ours = [
            BenchRecord(workload: "W1", mode: "naive", medianMs: 10, minMs: 9),
            BenchRecord(workload: "W1", mode: "compiled", medianMs: 5, minMs: 4),
            BenchRecord(workload: "W6-gemm-only-W1", mode: "limit", medianMs: 4, minMs: 4, value: 4),
            BenchRecord(workload: "W2", mode: "compiled", medianMs: 3, minMs: 3, check: false, note: "sum 1"),
        ]
        let table = formatTable(ours)
        XCTAssertTrue(table.contains("2.00×"), table)          // naive / compiled
        XCTAssertTrue(table.contains("1.25× GEMM-only"), table) // W1 / its GEMMs
        XCTAssertTrue(table.contains("FAILED"), table)
        let peers = parsePeerLines(#"{"framework": "jax", "workload": "W1", "n": null, "median_ms": 7.5, "check": "ok"}"#)
        let side = formatPeerTable(ours, peers)
        XCTAssertTrue(side.contains("7.50 (1.50×)"), side)
    }
}
