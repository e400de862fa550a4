import XCTest
import Foundation
@testable import Viz

/// Writes the pictures of `docs/visualization.md` that the CLI does not make, when
/// `SYMGRAPH_DOC_IMAGES` names a folder (`SYMGRAPH_DOC_IMAGES=docs/images swift test --filter DocImages`).
final class DocImagesTests: XCTestCase {
    func testWriteDocImages() throws {
        guard let dir = ProcessInfo.processInfo.environment["SYMGRAPH_DOC_IMAGES"] else {
            throw XCTSkip("set SYMGRAPH_DOC_IMAGES to a folder to write the documentation's pictures")
        }
        let program = makeFusedProgram()
        let report = CompileReport(level: .O2, passes: [
            PassReport(name: "prune", instructionsBefore: 11, instructionsAfter: 11, seconds: 0),
            PassReport(name: "fuse (illustration)", instructionsBefore: 11, instructionsAfter: 6,
                       rulesFired: ["linear": 1, "elementwise": 1, "reduce": 1], seconds: 0),
        ], seconds: 0, instructionCount: 6)
        try program.writeSVG(to: dir + "/fused-kernels.svg",
                             options: DOTOptions(title: "A hand-made program with the three fused kernel kinds"),
                             report: report)
    }
}
