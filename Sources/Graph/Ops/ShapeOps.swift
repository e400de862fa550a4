// Shape ops: reshape, transpose, broadcast, squeeze, expandDims, concat, split, slice, gather, pad, tile.

extension Inference {
    static func reshape(_ x: In, _ target: [Int]) throws -> TypeInfo {
        let inferred = target.filter { $0 == -1 }.count
        guard inferred <= 1 else { throw fail("reshape allows one -1 dimension, got \(target)", x.0) }
        guard target.allSatisfy({ $0 >= -1 }) else { throw fail("reshape target \(target) has a negative size", x.0) }
        let guess = Shape(target.map { $0 == -1 ? nil : $0 })
        let knownProduct = target.filter { $0 != -1 }.reduce(1, *)
        if let n = x.1.elementCount {
            if inferred == 1 {
                guard knownProduct > 0, n % knownProduct == 0 else {
                    throw fail("cannot reshape \(x.1) (\(n) elements) to \(target)", x.0, guess)
                }
                return TypeInfo(x.0, Shape(target.map { $0 == -1 ? n / knownProduct : $0 }))
            }
            guard knownProduct == n else {
                throw fail("cannot reshape \(x.1) (\(n) elements) to \(target) (\(knownProduct) elements)", x.0, guess)
            }
            return TypeInfo(x.0, Shape(known: target))
        }
        // Unknown input size: check divisibility by the known part of the input.
        let knownIn = x.1.dims.compactMap { $0 }.reduce(1, *)
        if inferred == 0, knownIn > 0, knownProduct % knownIn != 0 {
            throw fail("cannot reshape \(x.1) to \(target): \(knownProduct) is not a multiple of \(knownIn)", x.0, guess)
        }
        return TypeInfo(x.0, guess)
    }

    static func transpose(_ x: In, _ perm: [Int]) throws -> TypeInfo {
        guard perm.count == x.1.rank, Set(perm) == Set(0..<x.1.rank) else {
            throw fail("\(perm) is not a permutation of the \(x.1.rank) axes of \(x.1)", x.0)
        }
        return TypeInfo(x.0, Shape(perm.map { x.1.dims[$0] }))
    }

    static func broadcastTo(_ x: In, _ target: [Int]) throws -> TypeInfo {
        guard target.allSatisfy({ $0 >= 0 }), x.1.rank <= target.count,
              let b = Shape.broadcast(x.1, Shape(known: target)), b.dims == Shape(known: target).dims || !x.1.isFullyKnown
        else { throw fail("cannot broadcast \(x.1) to \(target)", x.0, Shape(known: target.map { Swift.max($0, 0) })) }
        return TypeInfo(x.0, Shape(known: target))
    }

    static func squeeze(_ x: In, _ axes: [Int]) throws -> TypeInfo {
        for a in axes {
            guard a >= 0, a < x.1.rank else { throw fail("axis \(a) is out of range for rank \(x.1.rank)", x.0) }
            if let d = x.1.dims[a], d != 1 { throw fail("cannot squeeze axis \(a) of size \(d)", x.0) }
        }
        return TypeInfo(x.0, Shape(x.1.dims.enumerated().filter { !axes.contains($0.offset) }.map(\.element)))
    }

    static func expandDims(_ x: In, _ axis: Int) throws -> TypeInfo {
        guard axis >= 0, axis <= x.1.rank else { throw fail("axis \(axis) is out of range for expandDims of rank \(x.1.rank)", x.0) }
        var d = x.1.dims
        d.insert(1, at: axis)
        return TypeInfo(x.0, Shape(d))
    }

    static func concat(_ ins: [In], _ axis: Int) throws -> TypeInfo {
        guard let first = ins.first else { throw fail("concat needs at least one input") }
        let r = first.1.rank
        guard axis >= 0, axis < r else { throw fail("axis \(axis) is out of range for rank \(r)", first.0) }
        var out = first.1.dims
        for (k, x) in ins.enumerated().dropFirst() {
            guard x.0 == first.0 else { throw fail("input \(k) has dtype \(x.0), input 0 has \(first.0)", first.0) }
            guard x.1.rank == r else { throw fail("input \(k) has rank \(x.1.rank), input 0 has rank \(r)", first.0) }
            for i in 0..<r where i != axis {
                out[i] = try unify(out[i], x.1.dims[i], "inputs differ on axis \(i): \(first.1) and \(x.1)")
            }
            if let a = out[axis], let b = x.1.dims[axis] { out[axis] = a + b } else { out[axis] = nil }
        }
        return TypeInfo(first.0, Shape(out))
    }

    static func slice(_ x: In, _ spec: SliceSpec) throws -> TypeInfo {
        guard spec.begin.count == spec.end.count, spec.begin.count == spec.stride.count, spec.begin.count <= x.1.rank else {
            throw fail("slice has \(spec.begin.count) begin, \(spec.end.count) end and \(spec.stride.count) stride entries for rank \(x.1.rank)", x.0)
        }
        guard !spec.stride.contains(0) else { throw fail("slice stride cannot be 0", x.0) }
        var out = x.1.dims
        for i in 0..<x.1.rank {
            if let n = x.1.dims[i] { out[i] = spec.resolve(axis: i, length: n).count } else if i < spec.begin.count {
                // Unknown length: known only when both bounds are non-negative with a positive stride.
                if let b = spec.begin[i], let e = spec.end[i], b >= 0, e >= 0, spec.stride[i] > 0 {
                    out[i] = nil  // may still be clamped by the run-time length
                    _ = (b, e)
                } else { out[i] = nil }
            }
        }
        return TypeInfo(x.0, Shape(out))
    }

    static func gather(_ p: In, _ idx: In, _ axis: Int) throws -> TypeInfo {
        guard axis >= 0, axis < p.1.rank else { throw fail("axis \(axis) is out of range for rank \(p.1.rank)", p.0) }
        guard idx.0.isInteger else { throw fail("gather indices must be int32 or int64, got \(idx.0)", p.0) }
        var d = p.1.dims
        d.replaceSubrange(axis...axis, with: idx.1.dims)
        return TypeInfo(p.0, Shape(d))
    }

    static func pad(_ x: In, _ widths: [PadWidth]) throws -> TypeInfo {
        guard widths.count == x.1.rank else { throw fail("pad needs \(x.1.rank) (before, after) pairs, got \(widths.count)", x.0) }
        guard widths.allSatisfy({ $0.before >= 0 && $0.after >= 0 }) else { throw fail("pad widths must be ≥ 0", x.0) }
        return TypeInfo(x.0, Shape(zip(x.1.dims, widths).map { d, w in d.map { $0 + w.before + w.after } }))
    }

    static func tile(_ x: In, _ m: [Int]) throws -> TypeInfo {
        guard m.count == x.1.rank, m.allSatisfy({ $0 >= 0 }) else {
            throw fail("tile needs \(x.1.rank) non-negative multiples, got \(m)", x.0)
        }
        return TypeInfo(x.0, Shape(zip(x.1.dims, m).map { d, k in d.map { $0 * k } }))
    }

    static func broadcastLike(_ x: In, _ like: In) throws -> TypeInfo {
        guard let b = Shape.broadcast(x.1, like.1), b.rank == like.1.rank else {
            throw fail("cannot broadcast \(x.1) to \(like.1)", x.0, like.1)
        }
        if let lk = like.1.known, let bk = b.known, lk != bk { throw fail("cannot broadcast \(x.1) to \(like.1)", x.0, like.1) }
        return TypeInfo(x.0, like.1)
    }

    static func sumLike(_ x: In, _ like: In) throws -> TypeInfo {
        guard Shape.broadcast(x.1, like.1) != nil, like.1.rank <= x.1.rank else {
            throw fail("cannot sum \(x.1) down to \(like.1)", x.0, like.1)
        }
        return TypeInfo(x.0, like.1)
    }

    static func reshapeLike(_ x: In, _ like: In) throws -> TypeInfo {
        if let a = x.1.elementCount, let b = like.1.elementCount, a != b {
            throw fail("cannot reshape \(x.1) to \(like.1)", x.0, like.1)
        }
        return TypeInfo(x.0, like.1)
    }

    static func sliceBackward(_ g: In, _ like: In, _ spec: SliceSpec) throws -> TypeInfo {
        guard g.1.rank == like.1.rank else { throw fail("slice gradient rank \(g.1.rank) differs from input rank \(like.1.rank)", g.0, like.1) }
        return TypeInfo(g.0, like.1)
    }

    static func gatherBackward(_ g: In, _ idx: In, _ like: In, _ axis: Int) throws -> TypeInfo {
        guard idx.0.isInteger else { throw fail("gather indices must be integers, got \(idx.0)", g.0, like.1) }
        return TypeInfo(g.0, like.1)
    }
}

extension Tensor {
    /// Reshapes to `shape`; one dimension may be `-1` (inferred).
    public func reshaped(_ shape: [Int], file: String = #fileID, line: Int = #line) -> Tensor {
        make(.reshape(shape), [self], SourceLocation(file: file, line: line))
    }
    /// Permutes axes (default: reverses them).
    public func transposed(_ permutation: [Int]? = nil, file: String = #fileID, line: Int = #line) -> Tensor {
        let perm = permutation?.map { normalizeAxis($0, rank: rank) ?? $0 } ?? Array((0..<rank).reversed())
        return make(.transpose(perm), [self], SourceLocation(file: file, line: line))
    }
    /// Swaps the last two axes (matrix transpose).
    public var T: Tensor {
        var p = Array(0..<rank)
        if rank >= 2 { p.swapAt(rank - 1, rank - 2) }
        return make(.transpose(p), [self], Tensor.operatorLocation(self))
    }
    /// NumPy broadcast to `shape`.
    public func broadcast(to shape: [Int], file: String = #fileID, line: Int = #line) -> Tensor {
        make(.broadcastTo(shape), [self], SourceLocation(file: file, line: line))
    }
    /// Removes axes of size 1 (`axes` nil: every axis known to be 1).
    public func squeezed(axes: [Int]? = nil, file: String = #fileID, line: Int = #line) -> Tensor {
        let a = axes.map { $0.map { normalizeAxis($0, rank: rank) ?? $0 } } ?? shape.dims.indices.filter { shape.dims[$0] == 1 }
        return make(.squeeze(axes: Array(Set(a)).sorted()), [self], SourceLocation(file: file, line: line))
    }
    /// Inserts an axis of size 1 at `axis` (negative counts from the end of the result).
    public func expandingDims(axis: Int, file: String = #fileID, line: Int = #line) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        return make(.expandDims(axis: a), [self], SourceLocation(file: file, line: line))
    }
    /// NumPy basic slicing: one (begin, end, stride) per leading axis; nil bounds are open; negative bounds count from the end.
    public func slice(begin: [Int?], end: [Int?], strides: [Int]? = nil, file: String = #fileID, line: Int = #line) -> Tensor {
        make(.slice(SliceSpec(begin: begin, end: end, stride: strides)), [self], SourceLocation(file: file, line: line))
    }
    /// Selects `indices` (an integer tensor) along `axis`.
    public func gather(_ indices: Tensor, axis: Int = 0, file: String = #fileID, line: Int = #line) -> Tensor {
        make(.gather(axis: normalizeAxis(axis, rank: rank) ?? axis), [self, indices], SourceLocation(file: file, line: line))
    }
    /// Pads with a constant: one (before, after) pair per axis.
    public func padded(_ widths: [(Int, Int)], value: Double = 0, file: String = #fileID, line: Int = #line) -> Tensor {
        make(.pad(widths.map { PadWidth($0.0, $0.1) }, value: value), [self], SourceLocation(file: file, line: line))
    }
    /// Repeats the tensor `multiples[i]` times along axis i.
    public func tiled(_ multiples: [Int], file: String = #fileID, line: Int = #line) -> Tensor {
        make(.tile(multiples), [self], SourceLocation(file: file, line: line))
    }
    /// Splits along `axis` into pieces of the given sizes (slices of this tensor).
    public func split(sizes: [Int], axis: Int = 0, file: String = #fileID, line: Int = #line) -> [Tensor] {
        let loc = SourceLocation(file: file, line: line)
        let a = normalizeAxis(axis, rank: rank) ?? axis
        var problem: String?
        if a < 0 || a >= rank {
            problem = "axis \(axis) is out of range for rank \(rank)"
        } else if sizes.contains(where: { $0 < 0 }) {
            problem = "sizes \(sizes) must be ≥ 0"
        } else if let total = shape.dims[a], total != sizes.reduce(0, +) {
            problem = "sizes \(sizes) do not add up to \(total), the length of axis \(a)"
        }
        if let problem { return invalidSplit(problem, pieces: sizes.count, loc) }
        var start = 0
        return sizes.map { n in
            var b = [Int?](repeating: nil, count: a + 1), e = b
            b[a] = start; e[a] = start + n
            start += n
            return make(.slice(SliceSpec(begin: b, end: e)), [self], name: "split", loc)
        }
    }
    /// Splits along `axis` into `count` equal pieces (the axis length must be known and divisible by `count`).
    public func split(count: Int, axis: Int = 0, file: String = #fileID, line: Int = #line) -> [Tensor] {
        let a = normalizeAxis(axis, rank: rank) ?? axis
        let problem: String
        if count <= 0 {
            problem = "split count must be positive, got \(count)"
        } else if a < 0 || a >= rank {
            problem = "axis \(axis) is out of range for rank \(rank)"
        } else if let total = shape.dims[a] {
            if total % count == 0 {
                return split(sizes: Array(repeating: total / count, count: count), axis: a, file: file, line: line)
            }
            problem = "axis \(a) of length \(total) does not split into \(count) equal pieces"
        } else {
            problem = "axis \(a) has an unknown length: split it with explicit sizes"
        }
        return invalidSplit(problem, pieces: Swift.max(count, 0), SourceLocation(file: file, line: line))
    }
    /// One invalid identity node standing for every piece of a bad split, with its diagnostic.
    private func invalidSplit(_ message: String, pieces: Int, _ loc: SourceLocation) -> [Tensor] {
        let t = make(.identity, [self], name: "split", loc)
        graph.record(Diagnostic(nodeName: t.name, op: "split", inputs: ["\(name): \(dtype.shortName)\(shape)"],
                                message: message, location: loc), invalidating: t)
        return Array(repeating: t, count: pieces)
    }
    /// Flattens all axes after the first: `[N, …] -> [N, -1]`.
    public func flattened(file: String = #fileID, line: Int = #line) -> Tensor {
        let rest = shape.dims.dropFirst()
        let inner = rest.allSatisfy { $0 != nil } ? rest.reduce(1) { $0 * $1! } : -1
        return reshaped(inner == -1 ? [shape.dims.first.flatMap { $0 } ?? -1, -1] : [-1, inner], file: file, line: line)
    }
}

/// Joins tensors along `axis`.
public func concat(_ tensors: [Tensor], axis: Int, file: String = #fileID, line: Int = #line) -> Tensor {
    guard let first = tensors.first else {
        // No graph to record into: an empty concat cannot be built.
        let g = Graph()
        return g.constant(0, file: file, line: line)
    }
    let a = normalizeAxis(axis, rank: first.rank) ?? axis
    return first.make(.concat(axis: a), tensors, SourceLocation(file: file, line: line))
}
