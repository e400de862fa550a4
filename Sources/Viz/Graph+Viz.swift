extension Graph {
    /// The graph in the DOT language, ready for Graphviz.
    ///
    /// Each node shows its op, name, dtype and shape; placeholders, variables, constants
    /// and ops are drawn differently, gradient and update nodes are tinted, name scopes
    /// become clusters (or boxes, see ``DOTOptions/collapseDepth``), and pictures larger
    /// than ``DOTOptions/maxNodes`` are shrunk (saying so under the title).
    public func dot(_ options: DOTOptions = DOTOptions()) -> String {
        var w = DOTWriter(items: VizItem.items(of: self), options: options)
        return w.write()
    }

    /// Lays the graph out and renders it in process with Graphviz.
    ///
    /// - Returns: The picture's bytes (for `.dot`, the DOT text).
    /// - Throws: ``VizError`` when Graphviz fails.
    public func render(format: ImageFormat, options: DOTOptions = DOTOptions()) throws -> [UInt8] {
        try GraphvizRenderer.shared.render(dot: dot(options), format: format)
    }

    /// Renders the graph to a file; the format comes from `format` or else the path's extension.
    ///
    /// - Throws: ``VizError/unknownFormat(_:)`` or ``VizError/cannotWrite(path:reason:)``.
    public func write(to path: String, format: ImageFormat? = nil, options: DOTOptions = DOTOptions()) throws {
        let f = try format ?? ImageFormat(pathExtensionOf: path)
        try writeFile(render(format: f, options: options), to: path)
    }

    /// Renders the graph to an SVG file.
    public func writeSVG(to path: String, options: DOTOptions = DOTOptions()) throws {
        try write(to: path, format: .svg, options: options)
    }
    /// Renders the graph to a PNG file.
    public func writePNG(to path: String, options: DOTOptions = DOTOptions()) throws {
        try write(to: path, format: .png, options: options)
    }
    /// Renders the graph to a PDF file.
    public func writePDF(to path: String, options: DOTOptions = DOTOptions()) throws {
        try write(to: path, format: .pdf, options: options)
    }
}

extension Program {
    /// The program in the DOT language. Fused kernels (`fused`, `linear`, `fusedReduce`)
    /// are clusters holding their member ops; fetched outputs have a double border.
    ///
    /// - Parameters:
    ///   - options: What to show.
    ///   - report: When given, its description (what each pass did) is drawn under the title.
    public func dot(_ options: DOTOptions = DOTOptions(), report: CompileReport? = nil) -> String {
        var o = options
        if let r = report { o.caption = [o.caption, r.description].compactMap { $0 }.joined(separator: "\n") }
        var w = DOTWriter(items: VizItem.items(of: self), options: o)
        return w.write()
    }

    /// Lays the program out and renders it in process with Graphviz.
    public func render(format: ImageFormat, options: DOTOptions = DOTOptions(), report: CompileReport? = nil) throws -> [UInt8] {
        try GraphvizRenderer.shared.render(dot: dot(options, report: report), format: format)
    }

    /// Renders the program to a file; the format comes from `format` or else the path's extension.
    public func write(to path: String, format: ImageFormat? = nil, options: DOTOptions = DOTOptions(),
                      report: CompileReport? = nil) throws {
        let f = try format ?? ImageFormat(pathExtensionOf: path)
        try writeFile(render(format: f, options: options, report: report), to: path)
    }

    /// Renders the program to an SVG file.
    public func writeSVG(to path: String, options: DOTOptions = DOTOptions(), report: CompileReport? = nil) throws {
        try write(to: path, format: .svg, options: options, report: report)
    }
    /// Renders the program to a PNG file.
    public func writePNG(to path: String, options: DOTOptions = DOTOptions(), report: CompileReport? = nil) throws {
        try write(to: path, format: .png, options: options, report: report)
    }
    /// Renders the program to a PDF file.
    public func writePDF(to path: String, options: DOTOptions = DOTOptions(), report: CompileReport? = nil) throws {
        try write(to: path, format: .pdf, options: options, report: report)
    }
}

/// Pictures of a graph before and after compilation.
public enum BeforeAfter {
    /// The files written by ``render(_:fetches:compileOptions:directory:name:format:options:)``.
    public struct Result: Sendable {
        /// The picture of the graph as built.
        public var beforePath: String
        /// The picture of the compiled program, captioned with the compile report.
        public var afterPath: String
        /// What the compiler did.
        public var report: CompileReport
        /// Seconds spent drawing (DOT text, layout, rendering, writing) the first picture.
        public var beforeSeconds: Double
        /// Seconds spent drawing the second picture (compilation not included).
        public var afterSeconds: Double
    }

    /// Renders `graph` as built and as compiled for `fetches`, as two files
    /// `NAME-before.EXT` and `NAME-after.EXT` in `directory`.
    ///
    /// - Throws: ``GraphError`` when the graph does not compile, ``VizError`` when a file cannot be written.
    public static func render(_ graph: Graph, fetches: [NodeID], compileOptions: CompileOptions = CompileOptions(),
                              directory: String, name: String, format: ImageFormat = .svg,
                              options: DOTOptions = DOTOptions()) throws -> Result {
        let (program, report) = try Compiler.compile(graph, fetches: fetches, options: compileOptions)
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let before = "\(dir)/\(name)-before.\(format.rawValue)"
        let after = "\(dir)/\(name)-after.\(format.rawValue)"
        var bo = options
        bo.title = (options.title.map { $0 + ": " } ?? "") + "as built (\(graph.nodeCount) nodes)"
        let t0 = monotonicSeconds()
        try graph.write(to: before, format: format, options: bo)
        var ao = options
        ao.title = (options.title.map { $0 + ": " } ?? "") + "compiled at \(compileOptions.level) (\(program.count) instructions)"
        let t1 = monotonicSeconds()
        try program.write(to: after, format: format, options: ao, report: report)
        return Result(beforePath: before, afterPath: after, report: report,
                      beforeSeconds: t1 - t0, afterSeconds: monotonicSeconds() - t1)
    }
}
