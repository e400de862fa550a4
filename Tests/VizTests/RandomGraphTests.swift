import XCTest
@testable import Viz

/// Random graphs with nested, oddly named scopes: every picture parses in Graphviz and
/// respects its size cap.
final class RandomGraphTests: XCTestCase {
    func testRandomGraphsRespectTheCapAndRender() throws {
        let scopeNames = ["a", "b\"q", "c\\d", "<e>", "f g", "h&i"]
        for seed in 0..<12 {
            var rng = SplitMix(seed: UInt64(seed))
            let g = Graph()
            var pool = [g.placeholder("x", shape: [4]), g.placeholder("y", shape: [4])]
            func grow(_ depth: Int) {
                for _ in 0..<Int(rng.next() % 6) + 2 {
                    let a = pool[Int(rng.next() % UInt64(pool.count))]
                    let b = pool[Int(rng.next() % UInt64(pool.count))]
                    switch rng.next() % 4 {
                    case 0: pool.append(a + b)
                    case 1: pool.append(tanh(a))
                    case 2: pool.append(a * 0.5)
                    default:
                        if depth < 3 {
                            g.withScope(scopeNames[Int(rng.next() % UInt64(scopeNames.count))]) { grow(depth + 1) }
                        }
                    }
                }
            }
            grow(0)
            let cap = Int(rng.next() % 28) + 3
            let dot = g.dot(DOTOptions(collapseDepth: seed % 3 == 0 ? 1 : nil, maxNodes: cap))
            XCTAssertLessThanOrEqual(dotBoxes(dot).count, cap, "seed \(seed)")
            let svg = try GraphvizRenderer.shared.render(dot: dot, format: .svg)
            XCTAssertNotNil(parseSVG(svg), "seed \(seed)")
            // Uncapped, every node is a box.
            XCTAssertEqual(dotBoxes(g.dot(DOTOptions(maxNodes: nil))).count, g.nodeCount, "seed \(seed)")
        }
    }
}

/// A tiny deterministic generator for the test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
