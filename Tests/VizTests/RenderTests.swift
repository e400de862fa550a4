import XCTest
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Viz
import NN

/// Collects `<title>` texts and checks the document parses.
final class TitleCollector: NSObject, XMLParserDelegate {
    var titles: [String] = []
    var texts: [String] = []
    private var inTitle = false, inText = false, buffer = ""
    func parser(_ p: XMLParser, didStartElement e: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        inTitle = e == "title"; inText = e == "text"; buffer = ""
    }
    func parser(_ p: XMLParser, foundCharacters s: String) { if inTitle || inText { buffer += s } }
    func parser(_ p: XMLParser, didEndElement e: String, namespaceURI: String?, qualifiedName: String?) {
        if e == "title" { titles.append(buffer) }
        if e == "text" { texts.append(buffer) }
        inTitle = false; inText = false
    }
}

func parseSVG(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> TitleCollector? {
    let parser = XMLParser(data: Data(bytes))
    let c = TitleCollector()
    parser.delegate = c
    let ok = parser.parse()
    XCTAssertTrue(ok, "SVG is not well-formed XML: \(String(describing: parser.parserError))", file: file, line: line)
    return ok ? c : nil
}

/// Resident set size in bytes, from /proc/self/statm.
func residentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = s.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

final class RenderTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "symgraph-viz-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func testSVGIsWellFormedAndHoldsEveryNode() throws {
        let g = Workloads.mlp().graph
        let svg = try g.render(format: .svg)
        let doc = try XCTUnwrap(parseSVG(svg))
        let titles = Set(doc.titles)
        for n in g.nodes { XCTAssertTrue(titles.contains(n.name), n.name) }
        XCTAssertTrue(titles.contains("dense1/matmul->dense1/add"))
        XCTAssertTrue(doc.texts.contains("f32[?, 512]"))
    }

    func testEscapedNamesSurviveRendering() throws {
        let g = Graph()
        let p = g.placeholder("a\"b\\c<d>&e", shape: [2])
        _ = -p
        let doc = try XCTUnwrap(parseSVG(try g.render(format: .svg)))
        // DOT keeps backslashes of quoted IDs as written (escaped, so doubled).
        XCTAssertTrue(doc.titles.contains("a\"b\\\\c<d>&e"), "\(doc.titles)")
        XCTAssertTrue(doc.texts.contains("a\"b\\c<d>&e"), "\(doc.texts)")
    }

    func testProgramSVGAndCaption() throws {
        let model = Workloads.mlp()
        let (program, report) = try Compiler.compile(model.graph, fetches: [model.loss.id])
        let doc = try XCTUnwrap(parseSVG(try program.render(format: .svg, report: report)))
        // Every line of the report is in the caption.
        for line in report.description.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            XCTAssertTrue(doc.texts.contains { $0.trimmingCharacters(in: .whitespaces) == t }, t)
        }
        // Plain instructions are boxes titled with their name; fused kernels are clusters labelled `op · name`.
        for ins in program.instructions {
            switch ins.op {
            case .fused, .linear, .fusedReduce:
                XCTAssertTrue(doc.texts.contains("\(ins.op.name) · \(ins.name)"), ins.name)
            default:
                XCTAssertTrue(doc.titles.contains(ins.name), ins.name)
            }
        }
    }

    func testPNGAndPDFAndDOT() throws {
        let g = Workloads.elementwiseChain().graph
        let png = try g.render(format: .png)
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let pdf = try g.render(format: .pdf)
        XCTAssertEqual(String(decoding: pdf.prefix(5), as: UTF8.self), "%PDF-")
        XCTAssertEqual(String(decoding: try g.render(format: .dot), as: UTF8.self), g.dot())
    }

    func testWritingFiles() throws {
        let dir = try temporaryDirectory()
        let g = Workloads.mlp().graph
        try g.writeSVG(to: dir + "/m.svg")
        try g.writePNG(to: dir + "/m.png")
        try g.writePDF(to: dir + "/m.pdf")
        try g.write(to: dir + "/m.gv")
        for f in ["m.svg", "m.png", "m.pdf", "m.gv"] {
            let size = (try FileManager.default.attributesOfItem(atPath: dir + "/" + f)[.size] as? Int) ?? 0
            XCTAssertGreaterThan(size, 100, f)
        }
        XCTAssertNotNil(parseSVG(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/m.svg")))))
    }

    func testBeforeAndAfter() throws {
        let dir = try temporaryDirectory()
        let model = Workloads.mlp()
        let r = try BeforeAfter.render(model.graph, fetches: [model.loss.id], directory: dir, name: "mlp")
        XCTAssertEqual(r.beforePath, dir + "/mlp-before.svg")
        XCTAssertEqual(r.afterPath, dir + "/mlp-after.svg")
        let before = try XCTUnwrap(parseSVG(Array(try Data(contentsOf: URL(fileURLWithPath: r.beforePath)))))
        let after = try XCTUnwrap(parseSVG(Array(try Data(contentsOf: URL(fileURLWithPath: r.afterPath)))))
        XCTAssertTrue(before.texts.contains { $0.hasPrefix("as built (") })
        XCTAssertTrue(after.texts.contains { $0.hasPrefix("compiled at O2") })
        XCTAssertTrue(after.texts.contains { $0.hasPrefix("compile report (O2)") })
    }

    func testBadPathAndBadFormatThrow() throws {
        let g = Workloads.mlp().graph
        XCTAssertThrowsError(try g.writeSVG(to: "/nonexistent-dir/sub/x.svg")) { e in
            guard case VizError.cannotWrite(let p, let reason)? = e as? VizError else { return XCTFail("\(e)") }
            XCTAssertEqual(p, "/nonexistent-dir/sub/x.svg")
            XCTAssertEqual("\(e)", "cannot write '/nonexistent-dir/sub/x.svg': \(reason)")
            XCTAssertTrue(reason.contains("No such file"), reason)
        }
        XCTAssertThrowsError(try ImageFormat(parsing: "bmp")) { e in
            XCTAssertEqual("\(e)", "unknown picture format 'bmp' (known: svg, png, pdf, dot)")
        }
        XCTAssertThrowsError(try g.write(to: "/tmp/picture.jpeg")) { e in
            guard case VizError.unknownFormat("jpeg")? = e as? VizError else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try g.write(to: "/tmp/picture")) { e in
            guard case VizError.unknownFormat? = e as? VizError else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try GraphvizRenderer.shared.render(dot: "digraph { a -> ", format: .svg)) { e in
            guard case VizError.graphviz(let m)? = e as? VizError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.hasPrefix("the DOT text does not parse"), m)
        }
        // The renderer still works after an error.
        XCTAssertNotNil(parseSVG(try g.render(format: .svg)))
    }

    func testConcurrentRendersAreSerialized() throws {
        let g = Workloads.elementwiseChain().graph
        let dot = g.dot()
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            let ok = (try? GraphvizRenderer.shared.render(dot: dot, format: .svg)).map { $0.count > 100 } ?? false
            if !ok { failures.withLock { $0 += 1 } }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
    }

    /// Memory stays flat over thousands of renders (every output, layout and graph is freed).
    func testMemoryStaysFlatOverManyRenders() throws {
        let dot = Workloads.elementwiseChain().graph.dot()
        for _ in 0..<100 { _ = try GraphvizRenderer.shared.render(dot: dot, format: .svg) }
        let before = residentBytes()
        XCTAssertGreaterThan(before, 0)
        var total = 0
        for _ in 0..<2_000 { total += try GraphvizRenderer.shared.render(dot: dot, format: .svg).count }
        let growth = residentBytes() - before
        XCTAssertGreaterThan(total, 2_000 * 1_000)
        XCTAssertLessThan(growth, 20 << 20, "RSS grew by \(growth) bytes over 2,000 renders")
    }
}

import Synchronization
