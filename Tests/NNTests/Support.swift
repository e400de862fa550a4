import XCTest
import NN
import Runtime

// The runtime's Session provides exactly what the NN helpers need.
extension Session: GraphSession {}

/// Float values of a fetched tensor as Double.
func values(_ t: HostTensor) -> [Double] { t.doubles }

/// Asserts two arrays agree elementwise within `tol` (absolute plus relative).
func assertClose(_ a: [Double], _ b: [Double], tol: Double = 1e-5, _ message: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "count " + message, file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() where !(abs(x - y) <= tol * (1 + abs(y))) {
        XCTFail("element \(i): \(x) vs expected \(y) \(message)", file: file, line: line)
        return
    }
}
