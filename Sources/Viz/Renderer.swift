import CGraphviz
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An output format for pictures.
public enum ImageFormat: String, Sendable, CaseIterable {
    /// Scalable vector graphics (Graphviz's core `svg` renderer).
    case svg
    /// A PNG bitmap (Graphviz's cairo renderer).
    case png
    /// A PDF document (Graphviz's cairo renderer).
    case pdf
    /// The DOT text itself, not laid out.
    case dot

    /// Parses a format name (`svg`, `png`, `pdf`, `dot`; case-insensitive).
    ///
    /// - Throws: ``VizError/unknownFormat(_:)`` for any other name.
    public init(parsing name: String) throws {
        guard let f = ImageFormat(rawValue: name.lowercased()) else { throw VizError.unknownFormat(name) }
        self = f
    }

    /// The format a file name's extension asks for (`.svg`, `.png`, `.pdf`, `.dot`/`.gv`).
    ///
    /// - Throws: ``VizError/unknownFormat(_:)`` when the extension is missing or unknown.
    public init(pathExtensionOf path: String) throws {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = file.lastIndex(of: ".") else { throw VizError.unknownFormat("(no extension in '\(path)')") }
        let ext = String(file[file.index(after: dot)...]).lowercased()
        self = ext == "gv" ? .dot : try ImageFormat(parsing: ext)
    }
}

/// Errors of drawing and writing pictures.
public enum VizError: Error, CustomStringConvertible, Sendable {
    /// A format name that is not `svg`, `png`, `pdf` or `dot`.
    case unknownFormat(String)
    /// A file that could not be written, with the system's reason.
    case cannotWrite(path: String, reason: String)
    /// Graphviz rejected the DOT text or failed to lay out or render it.
    case graphviz(String)

    /// A one-line message for users.
    public var description: String {
        switch self {
        case .unknownFormat(let f):
            return "unknown picture format '\(f)' (known: \(ImageFormat.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .cannotWrite(let p, let r): return "cannot write '\(p)': \(r)"
        case .graphviz(let m): return "graphviz: \(m)"
        }
    }
}

/// Renders DOT text in process with the Graphviz C library (libgvc/cgraph).
///
/// Graphviz is not thread-safe and leaks a little per context, so there is one
/// context per process (created on first use) and renders are serialized by a lock.
/// Every render frees its layout, its graph and its output buffer.
public final class GraphvizRenderer: @unchecked Sendable {
    /// The process-wide renderer (created lazily, thread-safely, on first use).
    public static let shared = GraphvizRenderer()

    /// Serializes renders (Graphviz is not thread-safe); counts them.
    private let lock = Locked<Int>(0)
    private let context: OpaquePointer?

    private init() {
        // Keep Graphviz's messages out of stderr; `aglasterr()` still returns them.
        _ = agseterr(AGMAX)
        context = gvContext()
    }

    /// Lays out `dot` with the `dot` engine and renders it.
    ///
    /// - Parameters:
    ///   - dot: A graph in the DOT language.
    ///   - format: The output format; `.dot` returns the text unchanged.
    /// - Returns: The rendered bytes.
    /// - Throws: ``VizError/graphviz(_:)`` when the text does not parse or Graphviz fails.
    public func render(dot: String, format: ImageFormat) throws -> [UInt8] {
        if format == .dot { return Array(dot.utf8) }
        return try lock.withLock { renders -> [UInt8] in
            renders += 1
            guard let gvc = context else { throw VizError.graphviz("could not create a Graphviz context") }
            _ = agreseterrors()
            guard let g = dot.withCString({ agmemread($0) }) else {
                throw VizError.graphviz("the DOT text does not parse" + Self.lastError())
            }
            defer { agclose(g) }
            guard gvLayout(gvc, g, "dot") == 0 else {
                throw VizError.graphviz("layout failed" + Self.lastError())
            }
            defer { gvFreeLayout(gvc, g) }
            var data: UnsafeMutablePointer<CChar>? = nil
            var length: UInt32 = 0
            let rc = gvRenderData(gvc, g, format.rawValue, &data, &length)
            defer { if let d = data { gvFreeRenderData(d) } }
            guard rc == 0, let bytes = data else {
                throw VizError.graphviz("rendering \(format.rawValue) failed" + Self.lastError())
            }
            return bytes.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                Array(UnsafeBufferPointer(start: $0, count: Int(length)))
            }
        }
    }

    private static func lastError() -> String {
        guard let p = aglasterr() else { return "" }
        defer { free(p) }
        let s = String(cString: p).trimmingCharacters(in: " \n")
        return s.isEmpty ? "" : ": " + s
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}

/// Writes bytes to a file, replacing it.
///
/// - Throws: ``VizError/cannotWrite(path:reason:)`` with the system's reason.
func writeFile(_ bytes: [UInt8], to path: String) throws {
    guard let f = fopen(path, "wb") else {
        throw VizError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
    }
    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    let closed = fclose(f)
    if written != bytes.count || closed != 0 {
        throw VizError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
    }
}
