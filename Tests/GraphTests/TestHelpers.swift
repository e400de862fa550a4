import XCTest
@testable import Graph

/// Asserts a tensor's inferred dtype and static shape, and that inference succeeded.
func assertType(_ t: Tensor, _ dtype: DType, _ shape: Shape,
                file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(t.dtype, dtype, "dtype of \(t)", file: file, line: line)
    XCTAssertEqual(t.shape, shape, "shape of \(t)", file: file, line: line)
    XCTAssertFalse(t.node.isInvalid, "\(t) is marked invalid: \(t.graph.diagnostics)", file: file, line: line)
}

/// Asserts that the graph validates (no diagnostics).
func assertValid(_ g: Graph, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertNoThrow(try g.validate(), "unexpected diagnostics: \(g.diagnostics)", file: file, line: line)
}

/// The location string a diagnostic must carry for a node made at `line` of the calling test file.
func here(_ line: Int, fileID: String = #fileID) -> String { "\(fileID):\(line)" }

/// Asserts that `validate()` throws `GraphError.invalidGraph` and that one of its diagnostics
/// names `node`, contains `message`, and carries `location` (e.g. "GraphTests/X.swift:12").
/// The error's printed description must hold the node name and the location too.
/// Returns the diagnostics for further checks.
@discardableResult
func assertInvalid(_ g: Graph, node: String, message: String, location: String,
                   file: StaticString = #filePath, line: UInt = #line) -> [Diagnostic] {
    do {
        try g.validate()
        XCTFail("validate() did not throw; expected an error on '\(node)': \(message)", file: file, line: line)
        return []
    } catch let e as GraphError {
        guard case .invalidGraph(let ds) = e else {
            XCTFail("expected .invalidGraph, got \(e)", file: file, line: line)
            return []
        }
        let text = e.description
        let matching = ds.filter { $0.nodeName == node && $0.message.contains(message) }
        XCTAssertEqual(matching.count, 1, "no single diagnostic on '\(node)' containing '\(message)' in:\n\(text)",
                       file: file, line: line)
        if let d = matching.first {
            XCTAssertEqual(d.location.description, location, "location of \(d)", file: file, line: line)
            XCTAssertTrue(d.description.contains("'\(node)'"), d.description, file: file, line: line)
            XCTAssertTrue(d.description.hasPrefix(location + ": error:"), d.description, file: file, line: line)
        }
        XCTAssertTrue(text.contains(node), text, file: file, line: line)
        XCTAssertTrue(text.contains(location), text, file: file, line: line)
        return ds
    } catch {
        XCTFail("expected GraphError, got \(error)", file: file, line: line)
        return []
    }
}
