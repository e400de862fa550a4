import Graph

// GatherND, ScatterND, ScatterElements (and the old Scatter): the indexed axes are flattened so
// every index becomes one position along a single axis, computed in the graph from the index
// tensor (negative indices wrap); gathers then use the IR's gather, and scatters its scatter-add
// (the gather gradient op). Scatter without reduction replaces the written positions (the last
// update wins when indices repeat and are known at import), `add` adds, and `mul`, `max`, `min`
// combine in rounds when the indices are known at import time.

extension NodeContext {
    /// Row-major strides of `dims`.
    func strides(_ dims: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: dims.count)
        var acc = 1
        for i in stride(from: dims.count - 1, through: 0, by: -1) { s[i] = acc; acc *= dims[i] }
        return s
    }

    /// Σ_j wrap(idx[..., j]) · stride_j over the last axis of `indices` (int64), for axes of `sizes`.
    func flatIndex(_ indices: Tensor, sizes: [Int]) throws -> Tensor {
        let idx = indices.cast(to: .int64)
        let st = strides(sizes)
        var flat: Tensor?
        for (j, n) in sizes.enumerated() {
            var c = sliceAxis(idx, axis: idx.rank - 1, begin: j, end: j + 1).squeezed(axes: [idx.rank - 1])
            let zero = g.constant(HostTensor(scalar: Int64(0)))
            c = `where`(c .< zero, c + g.constant(HostTensor(scalar: Int64(n))), c)
            let term = c * g.constant(HostTensor(scalar: Int64(st[j])))
            flat = flat.map { $0 + term } ?? term
        }
        return flat ?? g.constant(HostTensor(scalar: Int64(0)))
    }

    func gatherNDOp() throws -> Tensor {
        let data = try input(0), indices = try input(1)
        let b = try int("batch_dims", 0)
        guard let ds = data.shape.known, let q = indices.shape.dims.last ?? nil, let ishape = indices.shape.known else {
            throw fail("GatherND needs known shapes, got \(data.shape) and \(indices.shape)")
        }
        guard b >= 0, b < indices.rank, q >= 1, b + q <= data.rank, Array(ds[0..<b]) == Array(ishape[0..<b]) else {
            throw fail("indices \(indices.shape) do not fit data \(data.shape) with batch_dims \(b)")
        }
        let batch = ds[0..<b].reduce(1, *), indexed = ds[b..<(b + q)].reduce(1, *)
        let rest = Array(ds[(b + q)...])
        var flat = try flatIndex(indices, sizes: Array(ds[b..<(b + q)]))                   // [batch…, m…]
        if b > 0 {
            let inner = ishape[b..<(ishape.count - 1)].reduce(1, *)
            let offsets = g.constant(try HostTensor((0..<batch).map { Int64($0 * indexed) }, shape: [batch] + [Int](repeating: 1, count: indices.rank - 1 - b)))
            flat = (flat.reshaped([batch] + Array(ishape[b..<(ishape.count - 1)])) + offsets).reshaped([batch * inner])
        }
        let table = data.reshaped([batch * indexed] + rest)
        return try checkResult(table.gather(flat, axis: 0).reshaped(Array(ishape.dropLast()) + rest))
    }

    /// Scatter-writes `updates` [m, rest…] at rows `flat` [m] of `table` [p, rest…]. Without
    /// reduction or with `add`, one scatter-add does it; `mul`, `max` and `min` need the indices
    /// at import time: the k-th update of every row is applied in round k.
    func scatterRows(_ table: Tensor, _ flat: Tensor, _ updates: Tensor) throws -> Tensor {
        let reduction = try string("reduction", "none")
        func scatter(_ u: Tensor, _ at: Tensor) -> (values: Tensor, hit: Tensor) {
            let wide = table.dtype == .bool ? table.cast(to: .int32) : table
            let v = g.addNode(.gatherBackward(axis: 0), inputs: [u.dtype == .bool ? u.cast(to: .int32) : u, at, wide], location: location)
            let ones = g.constant(HostTensor(filled: 1, dtype: wide.dtype, shape: [])) + (u.dtype == .bool ? u.cast(to: .int32) : u) * 0
            let hits = g.addNode(.gatherBackward(axis: 0), inputs: [ones, at, wide], location: location)
            return (table.dtype == .bool ? v .> scalar(0, .int32) : v, hits .> scalar(0, hits.dtype))
        }
        if reduction == "add" {
            return table + g.addNode(.gatherBackward(axis: 0), inputs: [updates, flat, table], location: location)
        }
        guard ["none", "mul", "max", "min"].contains(reduction) else { throw fail("reduction '\(reduction)' is not one of none, add, mul, max, min") }
        guard let known = StaticEval.value(of: flat.id, ctx: ctx, depth: 0) else {
            if reduction == "none" {
                let (v, hit) = scatter(updates, flat)
                return `where`(hit, v, table)
            }
            throw fail("reduction '\(reduction)' needs the indices at import time")
        }
        // Round k applies, to every row, its k-th update (in update order).
        let rows = intValues(known)
        var seen: [Int: Int] = [:]
        var rounds: [[(update: Int, row: Int)]] = []
        for (u, r) in rows.enumerated() {
            let k = seen[r, default: 0]
            seen[r] = k + 1
            if k == rounds.count { rounds.append([]) }
            rounds[k].append((u, r))
        }
        guard rounds.count <= 4096 else { throw fail("an index repeats \(rounds.count) times, too many") }
        var result = table
        for round in rounds {
            let ids = g.constant(HostTensor(round.map { Int64($0.update) }))
            let at = g.constant(HostTensor(round.map { Int64($0.row) }))
            let (v, hit) = scatter(updates.gather(ids, axis: 0), at)
            let combined: Tensor
            switch reduction {
            case "mul": combined = result * v
            case "max": combined = maximum(result, v)
            case "min": combined = minimum(result, v)
            default: combined = v
            }
            result = `where`(hit, combined, result)
        }
        return result
    }

    func scatterNDOp() throws -> Tensor {
        let data = try input(0), indices = try input(1), updates = try input(2)
        guard let ds = data.shape.known, let q = indices.shape.dims.last ?? nil, let ishape = indices.shape.known, q >= 1, q <= data.rank else {
            throw fail("ScatterND needs known shapes with indices [..., q ≤ rank], got \(data.shape) and \(indices.shape)")
        }
        let rest = Array(ds[q...]), m = ishape.dropLast().reduce(1, *)
        let table = data.reshaped([ds[0..<q].reduce(1, *)] + rest)
        let flat = try flatIndex(indices, sizes: Array(ds[0..<q])).reshaped([m])
        return try scatterRows(table, flat, updates.reshaped([m] + rest)).reshaped(ds)
    }

    func scatterElementsOp() throws -> Tensor {
        let data = try input(0), indices = try input(1), updates = try input(2)
        guard let ds = data.shape.known, let ishape = indices.shape.known, ishape.count == ds.count else {
            throw fail("ScatterElements needs known shapes of equal rank, got \(data.shape) and \(indices.shape)")
        }
        let a = try axis(try int("axis", 0), rank: data.rank)
        let st = strides(ds)
        // Position of every update element with its own index along `axis` replaced.
        var base = [Int64]()
        base.reserveCapacity(ishape.reduce(1, *))
        let ist = strides(ishape)
        for e in 0..<ishape.reduce(1, *) {
            var off = 0
            for d in 0..<ishape.count where d != a { off += (e / ist[d] % ishape[d]) * st[d] }
            base.append(Int64(off))
        }
        var idx = indices.cast(to: .int64)
        idx = `where`(idx .< g.constant(HostTensor(scalar: Int64(0))), idx + g.constant(HostTensor(scalar: Int64(ds[a]))), idx)
        let flat = (idx * g.constant(HostTensor(scalar: Int64(st[a]))) + g.constant(try HostTensor(base, shape: ishape))).reshaped([base.count])
        let n = ds.reduce(1, *)
        return try scatterRows(data.reshaped([n]), flat, updates.reshaped([base.count])).reshaped(ds)
    }
}
