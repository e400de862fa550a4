// Reductions over axes (sum, mean, max, min, prod, logsumexp) and argmax/argmin.

extension Inference {
    static func reducedShape(_ s: Shape, _ axes: [Int], _ keep: Bool) -> Shape {
        Shape(s.dims.enumerated().compactMap { i, d in axes.contains(i) ? (keep ? .some(1) : nil) : .some(d) })
    }

    static func reduce(_ f: ReduceFunction, _ x: In, _ axes: [Int], _ keep: Bool) throws -> TypeInfo {
        for a in axes where a < 0 || a >= x.1.rank {
            throw fail("axis \(a) is out of range for rank \(x.1.rank)", x.0)
        }
        let out = reducedShape(x.1, axes, keep)
        switch f {
        case .mean, .logsumexp:
            guard x.0.isFloatingPoint else { throw fail("\(f) needs a floating-point input, got \(x.0)", x.0, out) }
        default:
            guard x.0.isNumeric else { throw fail("\(f) needs numbers, got \(x.0)", x.0, out) }
        }
        return TypeInfo(x.0, out)
    }

    static func argReduce(_ x: In, _ axis: Int, _ keep: Bool) throws -> TypeInfo {
        guard axis >= 0, axis < x.1.rank else { throw fail("axis \(axis) is out of range for rank \(x.1.rank)", .int64) }
        guard x.0.isNumeric else { throw fail("argmax/argmin need numbers, got \(x.0)", .int64) }
        return TypeInfo(.int64, reducedShape(x.1, [axis], keep))
    }
}

extension Tensor {
    /// Normalizes user axes (negative allowed; nil = all) to sorted unique non-negative axes,
    /// recording a diagnostic for an out-of-range one.
    func normalizedAxes(_ axes: [Int]?, _ loc: SourceLocation, op: String) -> [Int] {
        let r = rank
        guard let axes else { return Array(0..<r) }
        var out: [Int] = []
        for a in axes {
            if let n = normalizeAxis(a, rank: r) {
                if !out.contains(n) { out.append(n) }
            } else {
                out.append(a < 0 ? a + r : a)  // kept out of range so inference reports it
            }
        }
        return out.sorted()
    }

    /// Applies a reduction over `axes` (nil: all axes).
    public func reduce(_ f: ReduceFunction, axes: [Int]? = nil, keepDims: Bool = false,
                       file: String = #fileID, line: Int = #line) -> Tensor {
        let loc = SourceLocation(file: file, line: line)
        return make(.reduce(f, axes: normalizedAxes(axes, loc, op: f.rawValue), keepDims: keepDims), [self], loc)
    }

    /// Sum over `axes` (nil: all).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.sum, axes: axes, keepDims: keepDims, file: file, line: line)
    }
    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.sum, axes: [axis], keepDims: keepDims, file: file, line: line)
    }
    /// Mean over `axes` (nil: all).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.mean, axes: axes, keepDims: keepDims, file: file, line: line)
    }
    /// Mean over one axis.
    public func mean(axis: Int, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.mean, axes: [axis], keepDims: keepDims, file: file, line: line)
    }
    /// Maximum over `axes` (nil: all).
    public func max(axes: [Int]? = nil, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.max, axes: axes, keepDims: keepDims, file: file, line: line)
    }
    /// Maximum over one axis.
    public func max(axis: Int, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.max, axes: [axis], keepDims: keepDims, file: file, line: line)
    }
    /// Minimum over `axes` (nil: all).
    public func min(axes: [Int]? = nil, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.min, axes: axes, keepDims: keepDims, file: file, line: line)
    }
    /// Minimum over one axis.
    public func min(axis: Int, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.min, axes: [axis], keepDims: keepDims, file: file, line: line)
    }
    /// Product over `axes` (nil: all).
    public func prod(axes: [Int]? = nil, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.prod, axes: axes, keepDims: keepDims, file: file, line: line)
    }
    /// `log(sum(exp(x)))` over `axes`, computed stably.
    public func logsumexp(axes: [Int]? = nil, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.logsumexp, axes: axes, keepDims: keepDims, file: file, line: line)
    }
    /// `log(sum(exp(x)))` over one axis.
    public func logsumexp(axis: Int, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.logsumexp, axes: [axis], keepDims: keepDims, file: file, line: line)
    }
    /// Index (int64) of the largest element along `axis` (the first one on ties).
    public func argmax(axis: Int, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        let loc = SourceLocation(file: file, line: line)
        return make(.argReduce(.argmax, axis: normalizeAxis(axis, rank: rank) ?? axis, keepDims: keepDims), [self], loc)
    }
    /// Index (int64) of the smallest element along `axis` (the first one on ties).
    public func argmin(axis: Int, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        let loc = SourceLocation(file: file, line: line)
        return make(.argReduce(.argmin, axis: normalizeAxis(axis, rank: rank) ?? axis, keepDims: keepDims), [self], loc)
    }
}
