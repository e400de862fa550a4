@_exported import Graph
@_exported import Optimizer

/// What a picture of a graph or program shows and how big it may get.
public struct DOTOptions: Sendable {
    /// A title drawn at the top of the picture (default: none).
    public var title: String?
    /// Extra lines drawn under the title, left-aligned (for example a compile report).
    public var caption: String?
    /// Name scopes deeper than this are collapsed into one box each: 0 collapses every
    /// top-level scope (`dense1`), 1 keeps `dense1` open but collapses `dense1/inner`.
    /// `nil` (the default) collapses nothing unless ``maxNodes`` requires it.
    public var collapseDepth: Int?
    /// Scopes always drawn as one box (with everything below them).
    public var collapsedScopes: Set<String>
    /// The most boxes a picture may hold (`nil`: no cap). Beyond it, scopes are collapsed
    /// from the deepest up, and if that is not enough the middle of the graph (in
    /// execution order) is summarized into one box; the picture says so under its title.
    /// The default, 600, keeps a layout with `dot` to a few seconds.
    public var maxNodes: Int?
    /// Draw open name scopes as dashed clusters (default true).
    public var showScopes: Bool
    /// Draw the steps of fused kernels inside their cluster (default true).
    public var showFusedBodies: Bool
    /// Add each node's creation site (`file:line`) to its label (default false).
    public var showLocations: Bool
    /// Lay the graph out left to right instead of top to bottom.
    public var leftToRight: Bool
    /// Draw a legend of the kinds of boxes shown (default true).
    public var showLegend: Bool

    /// The default maximum number of boxes in a picture.
    public static let defaultMaxNodes = 600

    /// Creates options; every parameter has a default.
    public init(title: String? = nil, caption: String? = nil, collapseDepth: Int? = nil,
                collapsedScopes: Set<String> = [], maxNodes: Int? = DOTOptions.defaultMaxNodes,
                showScopes: Bool = true, showFusedBodies: Bool = true, showLocations: Bool = false,
                leftToRight: Bool = false, showLegend: Bool = true) {
        self.title = title
        self.caption = caption
        self.collapseDepth = collapseDepth
        self.collapsedScopes = collapsedScopes
        self.maxNodes = maxNodes
        self.showScopes = showScopes
        self.showFusedBodies = showFusedBodies
        self.showLocations = showLocations
        self.leftToRight = leftToRight
        self.showLegend = showLegend
    }
}

/// Escapes text for a double-quoted DOT string: quotes, backslashes (so Graphviz's
/// `\N`, `\l`… escapes cannot be triggered by a name) and control characters.
/// `<` and `>` need no escaping inside a quoted DOT string (Graphviz escapes them in SVG).
public func dotEscape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count + 2)
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r", "\t": out += " "
        default:
            if c.value < 0x20 || c.value == 0x7f { out += " " } else { out.unicodeScalars.append(c) }
        }
    }
    return out
}
