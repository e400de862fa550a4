import XCTest
import NN

final class DigitsTests: XCTestCase {
    /// The shipped data matches the source file (checksums computed from digits.csv.gz).
    func testLoadMatchesSource() throws {
        let d = try Digits.load()
        XCTAssertEqual(d.count, 1797)
        XCTAssertEqual(d.featureShape, [64])
        let pixelSum = d.features.reduce(0.0) { $0 + Double($1) * 16 }
        XCTAssertEqual(pixelSum, 561_718, accuracy: 1e-6)
        var counts = [Int](repeating: 0, count: 10)
        for l in d.labels { counts[Int(l)] += 1 }
        XCTAssertEqual(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
        XCTAssertEqual(Array(d.features[0..<8].map { Int($0 * 16) }), [0, 0, 5, 13, 9, 1, 0, 0])
        XCTAssertEqual(d.labels[0], 0)
        XCTAssertEqual(Array(d.features[(1796 * 64)..<(1796 * 64 + 8)].map { Int($0 * 16) }), [0, 0, 10, 14, 8, 1, 0, 0])
        XCTAssertEqual(d.labels[1796], 8)
        XCTAssertEqual(try Digits.load(asImages: true).featureShape, [1, 8, 8])
    }

    func testSplitIsDeterministicAndDisjoint() throws {
        let (train, test) = try Digits.split()
        XCTAssertEqual(train.count, 1437)
        XCTAssertEqual(test.count, 360)
        let (train2, test2) = try Digits.split()
        XCTAssertEqual(train.features, train2.features)
        XCTAssertEqual(test.labels, test2.labels)
        // Together the two halves hold every example exactly once.
        let all = try Digits.load()
        func rows(_ d: Dataset) -> [[Float]] { (0..<d.count).map { Array(d.features[($0 * 64)..<($0 * 64 + 64)]) + [Float(d.labels[$0])] } }
        let key = { (r: [Float]) in r.map { String(Int($0 * 16)) }.joined(separator: ",") }
        XCTAssertEqual((rows(train) + rows(test)).map(key).sorted(), rows(all).map(key).sorted())
        // Every class appears in the test split.
        XCTAssertEqual(Set(test.labels).count, 10)
    }

    func testSeededBatching() throws {
        let d = try Digits.load()
        let e0 = d.batches(size: 100, seed: 5, epoch: 0)
        XCTAssertEqual(e0.count, 18)
        XCTAssertEqual(e0.last?.count, 97)
        XCTAssertEqual(e0[0].features.shape, [100, 64])
        XCTAssertEqual(e0[0].labels.shape, [100])
        XCTAssertEqual(e0[0].labels.dtype, .int32)
        // Each example exactly once per epoch.
        XCTAssertEqual(e0.flatMap(\.indices).sorted(), Array(0..<1797))
        // Same seed and epoch: same order; another epoch or seed: another order.
        XCTAssertEqual(d.batches(size: 100, seed: 5, epoch: 0).flatMap(\.indices), e0.flatMap(\.indices))
        XCTAssertNotEqual(d.batches(size: 100, seed: 5, epoch: 1).flatMap(\.indices), e0.flatMap(\.indices))
        XCTAssertNotEqual(d.batches(size: 100, seed: 6, epoch: 0).flatMap(\.indices), e0.flatMap(\.indices))
        XCTAssertEqual(d.batches(size: 100, seed: 5, epoch: 0, dropRemainder: true).count, 17)
        // The batch holds the rows it names.
        let b = e0[3]
        let i = b.indices[7]
        XCTAssertEqual(Array(b.features.floats[(7 * 64)..<(8 * 64)]), Array(d.features[(i * 64)..<(i * 64 + 64)]))
        XCTAssertEqual(b.labels.doubles[7], Double(d.labels[i]))
    }
}
