// A tiny SVG line-plot writer for training curves.

/// A line plot of one or more series against a shared x axis, rendered as standalone SVG.
public struct LinePlot {
    /// One named curve.
    public struct Series {
        /// Legend label.
        public var label: String
        /// Points (x, y).
        public var points: [(Double, Double)]
        /// Stroke colour (CSS).
        public var color: String
        /// Creates a series.
        public init(_ label: String, _ points: [(Double, Double)], color: String) {
            self.label = label
            self.points = points
            self.color = color
        }
    }

    /// Title above the plot.
    public var title: String
    /// Axis labels.
    public var xLabel: String, yLabel: String
    /// The curves.
    public var series: [Series]
    /// Fixed y range (nil: fitted to the data).
    public var yRange: (Double, Double)?
    /// Size in pixels.
    public var width = 480.0, height = 300.0

    /// Creates a plot.
    public init(title: String, xLabel: String, yLabel: String, series: [Series], yRange: (Double, Double)? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.yRange = yRange
    }

    /// The SVG document.
    public func svg() -> String {
        let left = 56.0, right = 120.0, top = 30.0, bottom = 40.0
        let pw = width - left - right, ph = height - top - bottom
        let all = series.flatMap(\.points).filter { $0.0.isFinite && $0.1.isFinite }
        var x0 = all.map(\.0).min() ?? 0, x1 = all.map(\.0).max() ?? 1
        var y0 = yRange?.0 ?? (all.map(\.1).min() ?? 0), y1 = yRange?.1 ?? (all.map(\.1).max() ?? 1)
        if x1 <= x0 { x1 = x0 + 1 }
        if y1 <= y0 { y0 -= 0.5; y1 += 0.5 }
        func sx(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func sy(_ y: Double) -> Double { top + ph - (y - y0) / (y1 - y0) * ph }
        func e(_ s: String) -> String {
            s.replacingAll("&", "&amp;").replacingAll("<", "&lt;").replacingAll(">", "&gt;")
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(formatFixed(left + pw / 2, 1))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">\(e(title))</text>\n"
        s += "<rect x=\"\(formatFixed(left, 1))\" y=\"\(formatFixed(top, 1))\" width=\"\(formatFixed(pw, 1))\" height=\"\(formatFixed(ph, 1))\" fill=\"none\" stroke=\"#888\"/>\n"
        for k in 0...4 {
            let y = y0 + (y1 - y0) * Double(k) / 4
            s += "<line x1=\"\(formatFixed(left, 1))\" y1=\"\(formatFixed(sy(y), 1))\" x2=\"\(formatFixed(left + pw, 1))\" y2=\"\(formatFixed(sy(y), 1))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(formatFixed(left - 4, 1))\" y=\"\(formatFixed(sy(y) + 4, 1))\" text-anchor=\"end\">\(formatFixed(y, 3))</text>\n"
            let x = x0 + (x1 - x0) * Double(k) / 4
            s += "<text x=\"\(formatFixed(sx(x), 1))\" y=\"\(formatFixed(top + ph + 14, 1))\" text-anchor=\"middle\">\(formatFixed(x, x1 - x0 >= 8 ? 0 : 1))</text>\n"
        }
        s += "<text x=\"\(formatFixed(left + pw / 2, 1))\" y=\"\(formatFixed(height - 6, 1))\" text-anchor=\"middle\">\(e(xLabel))</text>\n"
        s += "<text x=\"14\" y=\"\(formatFixed(top + ph / 2, 1))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(formatFixed(top + ph / 2, 1)))\">\(e(yLabel))</text>\n"
        for (i, ser) in series.enumerated() {
            let pts = ser.points.filter { $0.0.isFinite && $0.1.isFinite }.map { "\(formatFixed(sx($0.0), 2)),\(formatFixed(sy($0.1), 2))" }
            if !pts.isEmpty {
                s += "<polyline fill=\"none\" stroke=\"\(e(ser.color))\" stroke-width=\"2\" points=\"\(pts.joined(separator: " "))\"/>\n"
            }
            let ly = top + 12 + Double(i) * 16
            s += "<line x1=\"\(formatFixed(left + pw + 10, 1))\" y1=\"\(formatFixed(ly - 4, 1))\" x2=\"\(formatFixed(left + pw + 28, 1))\" y2=\"\(formatFixed(ly - 4, 1))\" stroke=\"\(e(ser.color))\" stroke-width=\"2\"/>"
            s += "<text x=\"\(formatFixed(left + pw + 32, 1))\" y=\"\(formatFixed(ly, 1))\">\(e(ser.label))</text>\n"
        }
        return s + "</svg>\n"
    }
}

extension String {
    /// Every occurrence of `a` replaced with `b` (no Foundation needed).
    func replacingAll(_ a: String, _ b: String) -> String {
        guard !a.isEmpty else { return self }
        return split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}
