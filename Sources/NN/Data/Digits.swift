// The 8x8 handwritten digits set (UCI optdigits test set, CC BY 4.0), shipped in the module.

/// A labeled classification dataset held in memory: float32 features and int32 labels.
public struct Dataset: Sendable {
    /// Features, row-major, `count × featureShape.product`.
    public let features: [Float]
    /// Class labels.
    public let labels: [Int32]
    /// The shape of one example (`[64]` for flat digits, `[1, 8, 8]` for images).
    public let featureShape: [Int]

    /// Number of examples.
    public var count: Int { labels.count }
    /// Elements per example.
    public var featureSize: Int { featureShape.reduce(1, *) }

    /// Creates a dataset; throws when the arrays do not fit together.
    public init(features: [Float], labels: [Int32], featureShape: [Int]) throws {
        let size = featureShape.reduce(1, *)
        guard featureShape.allSatisfy({ $0 > 0 }), features.count == labels.count * size else {
            throw GraphError.invalidValue("dataset: \(features.count) feature values do not fit \(labels.count) examples of shape \(featureShape)")
        }
        self.features = features
        self.labels = labels
        self.featureShape = featureShape
    }

    /// The same examples seen with another per-example shape of the same size (e.g. `[1, 8, 8]`).
    public func reshaped(_ shape: [Int]) throws -> Dataset {
        try Dataset(features: features, labels: labels, featureShape: shape)
    }

    /// The examples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        let size = featureSize
        var f = [Float]()
        f.reserveCapacity(indices.count * size)
        var l = [Int32]()
        l.reserveCapacity(indices.count)
        for i in indices where i >= 0 && i < count {
            f.append(contentsOf: features[(i * size)..<((i + 1) * size)])
            l.append(labels[i])
        }
        // The arrays fit by construction.
        return (try? Dataset(features: f, labels: l, featureShape: featureShape)) ?? self
    }

    /// All examples as one batch.
    public var all: Batch { batch(Array(0..<count)) }

    /// The examples at `indices` as tensors `[n] + featureShape` (float32) and `[n]` (int32).
    public func batch(_ indices: [Int]) -> Batch {
        let s = subset(indices)
        let x = (try? HostTensor(s.features, shape: [s.count] + featureShape)) ?? HostTensor(zeros: .float32, shape: [0] + featureShape)
        return Batch(features: x, labels: HostTensor(s.labels), indices: indices)
    }

    /// The batches of one epoch: the examples in an order shuffled by `(seed, epoch)` (the same
    /// on every machine), cut into batches of `batchSize` (the last one may be smaller unless
    /// `dropRemainder`).
    public func batches(size batchSize: Int, seed: UInt64, epoch: Int, shuffle: Bool = true,
                        dropRemainder: Bool = false) -> [Batch] {
        let n = count
        guard batchSize > 0, n > 0 else { return [] }
        let order = shuffle ? Dataset.permutation(n, seed: mixSeed(seed, UInt64(truncatingIfNeeded: epoch))) : Array(0..<n)
        var out: [Batch] = []
        var start = 0
        while start < n {
            let end = Swift.min(start + batchSize, n)
            if dropRemainder, end - start < batchSize { break }
            out.append(batch(Array(order[start..<end])))
            start = end
        }
        return out
    }

    /// A Fisher–Yates permutation of `0..<n` driven by the counter-based generator (portable).
    public static func permutation(_ n: Int, seed: UInt64) -> [Int] {
        var p = Array(0..<n)
        guard n > 1 else { return p }
        let s = seed ^ (seed >> 32)
        for i in stride(from: n - 1, to: 0, by: -1) {
            // A 64-bit draw from two 32-bit hashes, reduced to 0...i (bias below 2^-32).
            let hi = UInt64(DeterministicRandom.u32(2 * i, seed: s)), lo = UInt64(DeterministicRandom.u32(2 * i + 1, seed: s))
            let j = Int(((hi << 32) | lo) % UInt64(i + 1))
            p.swapAt(i, j)
        }
        return p
    }
}

/// A batch of examples as tensors ready to feed.
public struct Batch: Sendable {
    /// `[n] + featureShape`, float32.
    public let features: HostTensor
    /// `[n]`, int32.
    public let labels: HostTensor
    /// Which examples of the dataset it holds.
    public let indices: [Int]
    /// Number of examples.
    public var count: Int { indices.count }
}

/// The 8x8 handwritten digits: 1,797 grayscale images (pixel counts 0–16) of the digits 0–9.
///
/// Source: the test set (optdigits.tes, 13 writers) of "Optical Recognition of Handwritten Digits",
/// E. Alpaydin and C. Kaynak, 1998, UCI Machine Learning Repository,
/// https://doi.org/10.24432/C50P49, licensed CC BY 4.0 (the copy scikit-learn bundles).
/// The data is compiled into the module (`DigitsData.swift`); nothing is read from disk.
public enum Digits {
    /// Number of examples.
    public static let count = 1797
    /// Size of the deterministic training split.
    public static let trainCount = 1437
    /// Size of the deterministic test split.
    public static let testCount = 360
    /// Seed of the train/test split permutation.
    public static let splitSeed: UInt64 = 20_260_401

    /// All 1,797 examples in the file's order: features scaled to [0, 1] (pixel / 16), shape `[64]`
    /// (or `[1, 8, 8]` with `asImages`).
    public static func load(asImages: Bool = false) throws -> Dataset {
        var features = [Float]()
        features.reserveCapacity(count * 64)
        var labels = [Int32]()
        labels.reserveCapacity(count)
        var lineNo = 0
        for line in encoded.split(separator: "\n", omittingEmptySubsequences: true) {
            lineNo += 1
            let bytes = Array(line.utf8)
            guard bytes.count == 65 else { throw GraphError.invalidValue("digits data line \(lineNo) has \(bytes.count) characters, not 65") }
            for b in bytes[0..<64] {
                let v: Int
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): v = Int(b - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "g"): v = Int(b - UInt8(ascii: "a")) + 10
                default: throw GraphError.invalidValue("digits data line \(lineNo) has a bad pixel character")
                }
                features.append(Float(v) / 16)
            }
            let l = bytes[64]
            guard l >= UInt8(ascii: "0"), l <= UInt8(ascii: "9") else { throw GraphError.invalidValue("digits data line \(lineNo) has a bad label") }
            labels.append(Int32(l - UInt8(ascii: "0")))
        }
        guard labels.count == count else { throw GraphError.invalidValue("digits data has \(labels.count) rows, expected \(count)") }
        return try Dataset(features: features, labels: labels, featureShape: asImages ? [1, 8, 8] : [64])
    }

    /// The deterministic split: a fixed permutation of the 1,797 examples, first 1,437 for training,
    /// last 360 for testing (the same on every machine).
    public static func split(asImages: Bool = false) throws -> (train: Dataset, test: Dataset) {
        let all = try load(asImages: asImages)
        let p = Dataset.permutation(count, seed: splitSeed)
        return (all.subset(Array(p[0..<trainCount])), all.subset(Array(p[trainCount...])))
    }
}
