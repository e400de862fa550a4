// A first-fit/best-fit offset allocator over one arena, driven by liveness.

/// Hands out aligned offsets in an arena; freed blocks are reused (best fit) and merged.
struct ArenaAllocator {
    /// Alignment of every block, in bytes.
    static let alignment = 64
    private var free: [(offset: Int, size: Int)] = []
    /// The current end of the arena.
    private(set) var top = 0
    /// The largest `top` reached: the arena's size.
    private(set) var peak = 0

    @inline(__always) static func rounded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Allocates `bytes` (0 bytes gives offset 0 and takes nothing).
    mutating func allocate(_ bytes: Int) -> Int {
        let size = ArenaAllocator.rounded(bytes)
        if size == 0 { return 0 }
        var best = -1
        for (k, b) in free.enumerated() where b.size >= size {
            if best < 0 || b.size < free[best].size { best = k }
        }
        if best >= 0 {
            let b = free[best]
            if b.size == size { free.remove(at: best) } else { free[best] = (b.offset + size, b.size - size) }
            return b.offset
        }
        // Grow: reuse a free block that ends at the top, if any.
        if let last = free.last, last.offset + last.size == top {
            free.removeLast()
            top = last.offset + size
            peak = max(peak, top)
            return last.offset
        }
        let off = top
        top += size
        peak = max(peak, top)
        return off
    }

    /// Returns a block to the free list, merging it with its neighbours.
    mutating func release(offset: Int, bytes: Int) {
        let size = ArenaAllocator.rounded(bytes)
        if size == 0 { return }
        var k = 0
        while k < free.count && free[k].offset < offset { k += 1 }
        free.insert((offset, size), at: k)
        if k + 1 < free.count && free[k].offset + free[k].size == free[k + 1].offset {
            free[k].size += free[k + 1].size
            free.remove(at: k + 1)
        }
        if k > 0 && free[k - 1].offset + free[k - 1].size == free[k].offset {
            free[k - 1].size += free[k].size
            free.remove(at: k)
        }
    }
}
