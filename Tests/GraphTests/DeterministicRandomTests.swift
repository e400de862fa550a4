import XCTest
@testable import Graph

/// The counter-based generator against values worked out independently (docs/WORKLOADS: det_u32).
final class DeterministicRandomTests: XCTestCase {
    /// An independent fmix32 written with 64-bit arithmetic and explicit masking.
    private func referenceU32(_ i: UInt64, _ seed: UInt64) -> UInt32 {
        let mask: UInt64 = 0xFFFF_FFFF
        var h = (i & mask) &+ (((seed & mask) &* 0x9E37_79B9) & mask)
        h &= mask
        h ^= h >> 16; h = (h &* 0x85EB_CA6B) & mask
        h ^= h >> 13; h = (h &* 0xC2B2_AE35) & mask
        h ^= h >> 16
        return UInt32(h)
    }

    func testU32AgainstHandComputedValues() {
        // Worked by hand/with a separate script: fmix32(1) is MurmurHash3's well-known 0x514E28B7.
        XCTAssertEqual(DeterministicRandom.u32(0, seed: 0), 0)
        XCTAssertEqual(DeterministicRandom.u32(1, seed: 0), 0x514E_28B7)
        XCTAssertEqual(DeterministicRandom.u32(0, seed: 1), 0x92CA_2F0E)
        XCTAssertEqual(DeterministicRandom.u32(5, seed: 11), 0xA11A_E438)
        XCTAssertEqual(DeterministicRandom.u32(123_456, seed: 42), 0xD879_AC97)
        XCTAssertEqual(DeterministicRandom.u32(4_294_967_303, seed: 3), 0xFF83_9133)   // index wraps mod 2^32
        for seed: UInt64 in [0, 1, 2, 11, 0xDEAD_BEEF_1234] {
            for i in [0, 1, 2, 3, 1000, 65_535, 1 << 20] {
                XCTAssertEqual(DeterministicRandom.u32(i, seed: seed), referenceU32(UInt64(i), seed), "i=\(i) seed=\(seed)")
            }
        }
    }

    func testUnitAndLabels() {
        XCTAssertEqual(DeterministicRandom.unit(1, seed: 0), Double(0x514E_28B7) / 4_294_967_296.0)
        let labels = DeterministicRandom.labels(count: 100, seed: 2, classes: 10)
        for (i, l) in labels.enumerated() { XCTAssertEqual(l, Int32(referenceU32(UInt64(i), 2) % 10)) }
        XCTAssertEqual(DeterministicRandom.labels(count: 3, seed: 2, classes: 0), [0, 0, 0])   // no division by zero
        XCTAssertEqual(DeterministicRandom.uniformFloats(count: -1, seed: 1, low: 0, high: 1), [])
        XCTAssertEqual(DeterministicRandom.initialTensor(.glorotUniform, shape: [2, -1], dtype: .float32, seed: 1).count, 0)
        let u = DeterministicRandom.uniformFloats(count: 1000, seed: 1, low: 0, high: 1)
        XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertEqual(u[7], Float(Double(referenceU32(7, 1)) / 4_294_967_296.0))
        let n = (0..<20_000).map { DeterministicRandom.normal($0, seed: 5) }
        let mean = n.reduce(0, +) / Double(n.count)
        let variance = n.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n.count)
        XCTAssertEqual(mean, 0, accuracy: 0.05)
        XCTAssertEqual(variance, 1, accuracy: 0.05)
        XCTAssertTrue(n.allSatisfy(\.isFinite))
    }

    /// `glorotUniform` for W1 of the MLP workload equals det_uniform(-L, L), L = sqrt(6/(784+512)), seed 11.
    func testGlorotUniformMatchesWorkloadDefinition() throws {
        let t = DeterministicRandom.initialTensor(.glorotUniform, shape: [784, 512], dtype: .float32, seed: 11)
        XCTAssertEqual(t.dtype, .float32)
        XCTAssertEqual(t.shape, [784, 512])
        let got = try t.scalars(as: Float.self)
        let l = (6.0 / Double(784 + 512)).squareRoot()
        var mismatches = 0
        for i in 0..<(784 * 512) {
            let expected = Float(-l + (2 * l) * (Double(referenceU32(UInt64(i), 11)) / 4_294_967_296.0))
            if got[i].bitPattern != expected.bitPattern { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0)
        // Spot values computed separately in Float64 and rounded once.
        XCTAssertEqual(got[0], 0.009286405518651009)
        XCTAssertEqual(got[1], -0.0024556538555771112)
        XCTAssertEqual(got[784 * 512 - 1], -0.0023898882791399956)
    }

    func testFansAndOtherInitializers() {
        XCTAssertTrue(DeterministicRandom.fans([784, 512]) == (784, 512))
        XCTAssertTrue(DeterministicRandom.fans([20, 1, 5, 5]) == (25, 500))     // conv: OIHW
        XCTAssertTrue(DeterministicRandom.fans([50, 20, 5, 5]) == (500, 1250))
        XCTAssertTrue(DeterministicRandom.fans([7]) == (7, 7))
        XCTAssertTrue(DeterministicRandom.fans([]) == (1, 1))
        let conv = DeterministicRandom.initialTensor(.glorotUniform, shape: [20, 1, 5, 5], dtype: .float32, seed: 33)
        let lc = (6.0 / 525.0).squareRoot()
        XCTAssertEqual(conv.floats[3], Float(-lc + 2 * lc * (Double(referenceU32(3, 33)) / 4_294_967_296.0)))
        XCTAssertEqual(DeterministicRandom.initialTensor(.zeros, shape: [2, 3], dtype: .float32, seed: 0).doubles, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(DeterministicRandom.initialTensor(.ones, shape: [2], dtype: .int32, seed: 0).doubles, [1, 1])
        XCTAssertEqual(DeterministicRandom.initialTensor(.constant(2.5), shape: [2], dtype: .float64, seed: 0).doubles, [2.5, 2.5])
        let he = DeterministicRandom.initialValues(.heUniform, shape: [100, 10], seed: 4)
        let lh = (6.0 / 100).squareRoot()
        XCTAssertEqual(he[9], -lh + 2 * lh * (Double(referenceU32(9, 4)) / 4_294_967_296.0), accuracy: 1e-15)
        let u = DeterministicRandom.initialValues(.uniform(low: 2, high: 3), shape: [50], seed: 9)
        XCTAssertTrue(u.allSatisfy { $0 >= 2 && $0 < 3 })
        let nrm = DeterministicRandom.initialValues(.normal(mean: 10, std: 0), shape: [3], seed: 1)
        XCTAssertEqual(nrm, [10, 10, 10])
        let v = HostTensor([1, 2] as [Int32])
        XCTAssertEqual(DeterministicRandom.initialTensor(.value(v), shape: [2], dtype: .float32, seed: 0).floats, [1, 2])
        // Reproducible: the same seed gives the same numbers; another seed does not.
        XCTAssertEqual(DeterministicRandom.initialValues(.glorotNormal, shape: [8, 8], seed: 3),
                       DeterministicRandom.initialValues(.glorotNormal, shape: [8, 8], seed: 3))
        XCTAssertNotEqual(DeterministicRandom.initialValues(.heNormal, shape: [8, 8], seed: 3),
                          DeterministicRandom.initialValues(.heNormal, shape: [8, 8], seed: 4))
    }
}
