import XCTest
@testable import Optimizer

/// Random graphs (elementwise, broadcasting, reductions, matmuls, shape ops, repeated
/// subexpressions), seeded: O2 (verifier on) must compute what O0 computes.
final class PropertyTests: XCTestCase {
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
        mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
    }

    static let shapes: [[Int]] = [[3, 4], [4], [1, 4], [3, 1], [], [2, 3, 4]]

    /// Builds one random graph; returns its fetches and feeds.
    static func randomGraph(seed: UInt64) -> ([Tensor], [String: HostTensor]) {
        var rng = SplitMix(state: seed)
        let g = Graph()
        var pool: [Tensor] = []
        var feeds: [String: HostTensor] = [:]
        for k in 0..<(1 + rng.int(3)) {
            let s = rng.pick(shapes)
            let x = g.placeholder("x\(k)", shape: Shape(known: s))
            let n = s.reduce(1, *)
            feeds[x.name] = floats((0..<n).map { _ in Float(rng.unit() * 4 - 2) }, s)
            pool.append(x)
        }
        let consts: [Double] = [1, 0, -0.0, 2, 4, -1, 0.5, 3, 0.25]
        for _ in 0..<(4 + rng.int(10)) {
            let a = rng.pick(pool)
            let b = rng.pick(pool)
            var t: Tensor
            switch rng.int(16) {
            case 0: t = a.map(rng.pick([.neg, .abs, .tanh, .sigmoid, .relu, .square, .sin]))
            case 1: t = exp(tanh(a))
            case 2, 3:
                if Shape.broadcast(a.shape, b.shape) != nil {
                    t = a.apply(rng.pick([.add, .sub, .mul, .maximum, .minimum]), b)
                } else { t = a * rng.pick(consts) }
            case 4: t = rng.int(2) == 0 ? a * rng.pick(consts) : rng.pick(consts) + a
            case 5 where Shape.broadcast(a.shape, b.shape) != nil: t = a / (abs(b) + 1.0)
            case 6 where Shape.broadcast(a.shape, b.shape) != nil: t = `where`(a .> b, a, b * 0.5)
            case 7 where a.rank >= 1:
                let axes = (0..<a.rank).filter { _ in rng.int(2) == 0 }
                t = a.reduce(rng.pick([.sum, .mean, .max, .min]), axes: axes, keepDims: rng.int(2) == 0)
            case 8 where a.rank == 2:
                let k = a.shape.dims[1] ?? 1
                let w = g.variable("w", initializer: .glorotUniform, shape: [k, 3], seed: rng.next() % 100)
                let bias = g.variable("b", initializer: .uniform(low: -1, high: 1), shape: [3], seed: rng.next() % 100)
                t = a.matmul(w) + bias
                if rng.int(2) == 0 { t = relu(t) }
            case 9 where a.rank == 2 && b.rank == 2 && a.shape.dims[0] == b.shape.dims[0]:
                t = matmul(a.T, b)                       // transpose folded into the GEMM
            case 10 where a.rank >= 2: t = a.T.T + a.transposed().transposed()
            case 11: t = a.reshaped([-1]).reshaped([-1])
            case 12: t = a.cast(to: .float64).cast(to: .float32) * 1.0 - 0.0
            case 13 where a.rank >= 1: t = log(softmax(tanh(a) * 4.0, axis: -1))   // bounded: O0 stays accurate
            case 14: t = (exp(a) * 2.0) * 4.0 + (exp(a) * 2.0) * 4.0   // repeated subexpression
            case 15: t = a * (exp(g.constant(rng.pick(consts))) + 1.0)            // a constant subgraph to fold
            default: t = -(-a)
            }
            pool.append(t)
        }
        var fetches = [pool[pool.count - 1]]
        if rng.int(3) == 0 { fetches.append(pool[pool.count / 2]) }
        return (fetches, feeds)
    }

    func testRandomGraphsO2MatchesO0() throws {
        var compared = 0
        var fired: [String: Int] = [:]
        for seed in 0..<1000 as Range<UInt64> where compared < 500 {
            let (fetches, feeds) = Self.randomGraph(seed: seed)
            guard (try? fetches[0].graph.validate()) != nil else { continue }
            do {
                let (_, r) = try compile(fetches)
                for pass in r.passes { for (k, v) in pass.rulesFired { fired[k, default: 0] += v } }
                try assertSameValues(fetches, feeds: feeds, rtol: 2e-4, atol: 1e-5)
                compared += 1
            } catch {
                XCTFail("seed \(seed): \(error)")
            }
        }
        XCTAssertGreaterThanOrEqual(compared, 500)
        print("rules fired over \(compared) random graphs: \(fired.sorted { $0.key < $1.key })")
        for rule in ["merged", "regions", "linear", "linear+activation", "matmul-transpose", "scale-combine", "log-softmax",
                     "transpose-transpose", "reshape-reshape", "cast-roundtrip", "mul-one", "fusedReduce", "fold"] {
            XCTAssertGreaterThan(fired[rule] ?? 0, 0, "\(rule) never fired")
        }
    }
}
