

/// Contiguous, 64-byte-aligned memory owned by a ``HostTensor``.
///
/// Large blocks (1 MiB and more) are recycled through a small process-wide cache when their
/// storage is released, so a loop that gets a new large result each call (as every run does)
/// reuses memory whose pages are already mapped instead of paying the kernel's page faults
/// and zeroing again. The cache holds at most 256 MiB and a few blocks per size.
public final class TensorStorage: @unchecked Sendable {
    /// The first byte.
    public let pointer: UnsafeMutableRawPointer
    /// Size in bytes.
    public let byteCount: Int

    /// Allocates zeroed memory.
    public init(byteCount: Int) {
        self.byteCount = byteCount
        pointer = BlockCache.take(max(byteCount, 1))
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
    }

    /// Allocates memory without clearing it (the caller writes every byte).
    public init(uninitializedByteCount byteCount: Int) {
        self.byteCount = byteCount
        pointer = BlockCache.take(max(byteCount, 1))
    }

    deinit { BlockCache.give(pointer, max(byteCount, 1)) }

    func copy() -> TensorStorage {
        let s = TensorStorage(uninitializedByteCount: byteCount)
        s.pointer.copyMemory(from: pointer, byteCount: byteCount)
        return s
    }
}

/// The recycling cache behind ``TensorStorage`` (large blocks only).
enum BlockCache {
    static let minimumBytes = 1 << 20
    static let capacityBytes = 256 << 20
    static let blocksPerSize = 4
    private struct State {
        var free: [Int: [UInt]] = [:]  // addresses, by block size
        var bytes = 0
    }
    private static let state = Locked(State())

    static func take(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes >= minimumBytes, let address = state.withLock({ s -> UInt? in
            guard let a = s.free[bytes]?.popLast() else { return nil }
            s.bytes -= bytes
            return a
        }), let p = UnsafeMutableRawPointer(bitPattern: address) { return p }
        return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    }

    static func give(_ p: UnsafeMutableRawPointer, _ bytes: Int) {
        if bytes >= minimumBytes {
            let address = UInt(bitPattern: p)
            let kept = state.withLock { s -> Bool in
                guard s.bytes + bytes <= capacityBytes, s.free[bytes, default: []].count < blocksPerSize else { return false }
                s.free[bytes, default: []].append(address)
                s.bytes += bytes
                return true
            }
            if kept { return }
        }
        p.deallocate()
    }
}

/// A Swift scalar type that can be a tensor element.
public protocol TensorScalar: Sendable, Hashable {
    /// The ``DType`` this Swift type stores.
    static var dtype: DType { get }
}
extension Float: TensorScalar { public static var dtype: DType { .float32 } }
extension Double: TensorScalar { public static var dtype: DType { .float64 } }
extension Int32: TensorScalar { public static var dtype: DType { .int32 } }
extension Int64: TensorScalar { public static var dtype: DType { .int64 } }
extension Bool: TensorScalar { public static var dtype: DType { .bool } }

/// A concrete tensor value on the host: dtype, shape and contiguous row-major storage.
///
/// Values are copy-on-write: copying a `HostTensor` is cheap, and the storage is
/// duplicated only when one copy is mutated. Feeds, fetched results and constants
/// are all `HostTensor`s.
public struct HostTensor: @unchecked Sendable, CustomStringConvertible {
    /// Element type.
    public let dtype: DType
    /// Concrete dimensions, outermost first.
    public let shape: [Int]
    /// The memory (shared between copies until one mutates).
    public private(set) var storage: TensorStorage

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// A zero-filled tensor. Negative dimensions are taken as 0.
    public init(zeros dtype: DType, shape: [Int]) {
        self.dtype = dtype
        self.shape = shape.map { Swift.max($0, 0) }
        storage = TensorStorage(byteCount: self.shape.reduce(1, *) * dtype.byteSize)
    }

    /// Wraps existing storage (no copy). `storage` must hold at least `count * byteSize` bytes.
    public init(dtype: DType, shape: [Int], storage: TensorStorage) {
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    /// A tensor holding `scalars` in row-major order. Throws when the count does not match `shape`.
    public init<T: TensorScalar>(_ scalars: [T], shape: [Int]) throws {
        let n = shape.reduce(1, *)
        guard scalars.count == n, shape.allSatisfy({ $0 >= 0 }) else {
            throw GraphError.invalidValue("\(scalars.count) values do not fill shape \(shape) (\(n) elements)")
        }
        self.init(zeros: T.dtype, shape: shape)
        scalars.withUnsafeBufferPointer { src in
            guard n > 0, let base = src.baseAddress else { return }
            storage.pointer.bindMemory(to: T.self, capacity: n).update(from: base, count: n)
        }
    }

    /// A one-dimensional tensor holding `scalars`.
    public init<T: TensorScalar>(_ scalars: [T]) {
        // Cannot fail: the shape is the count.
        self = (try? HostTensor(scalars, shape: [scalars.count])) ?? HostTensor(zeros: T.dtype, shape: [0])
    }

    /// A rank-0 tensor.
    public init<T: TensorScalar>(scalar: T) {
        self.init(zeros: T.dtype, shape: [])
        storage.pointer.bindMemory(to: T.self, capacity: 1).pointee = scalar
    }

    /// A tensor of `dtype` filled with `value` (converted to the dtype).
    public init(filled value: Double, dtype: DType, shape: [Int]) {
        self.init(zeros: dtype, shape: shape)
        let n = count
        switch dtype {
        case .float32: storage.pointer.bindMemory(to: Float.self, capacity: n).update(repeating: Float(value), count: n)
        case .float64: storage.pointer.bindMemory(to: Double.self, capacity: n).update(repeating: value, count: n)
        case .int32: storage.pointer.bindMemory(to: Int32.self, capacity: n).update(repeating: Int32(clamping: Int64(exactly: value.rounded(.towardZero)) ?? 0), count: n)
        case .int64: storage.pointer.bindMemory(to: Int64.self, capacity: n).update(repeating: Int64(exactly: value.rounded(.towardZero)) ?? 0, count: n)
        case .bool: storage.pointer.bindMemory(to: Bool.self, capacity: n).update(repeating: value != 0, count: n)
        }
    }

    /// Read-only access to the elements as `T` (which must match `dtype`).
    public func withUnsafeBufferPointer<T: TensorScalar, R>(as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R) rethrows -> R {
        let p = storage.pointer.assumingMemoryBound(to: T.self)
        return try body(UnsafeBufferPointer(start: p, count: count))
    }

    /// Mutable access to the elements as `T` (copy-on-write).
    public mutating func withUnsafeMutableBufferPointer<T: TensorScalar, R>(as type: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        let p = storage.pointer.assumingMemoryBound(to: T.self)
        return try body(UnsafeMutableBufferPointer(start: p, count: count))
    }

    /// The elements as a Swift array of `T`. Throws when `T` does not match `dtype`.
    public func scalars<T: TensorScalar>(as type: T.Type) throws -> [T] {
        guard T.dtype == dtype else { throw GraphError.invalidValue("tensor has dtype \(dtype), not \(T.dtype)") }
        return withUnsafeBufferPointer(as: T.self) { Array($0) }
    }

    /// The elements converted to Double (bool as 0/1), whatever the dtype.
    public var doubles: [Double] {
        let n = count
        let p = storage.pointer
        switch dtype {
        case .float32: return (0..<n).map { Double(p.assumingMemoryBound(to: Float.self)[$0]) }
        case .float64: return Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Double.self), count: n))
        case .int32: return (0..<n).map { Double(p.assumingMemoryBound(to: Int32.self)[$0]) }
        case .int64: return (0..<n).map { Double(p.assumingMemoryBound(to: Int64.self)[$0]) }
        case .bool: return (0..<n).map { p.assumingMemoryBound(to: Bool.self)[$0] ? 1 : 0 }
        }
    }

    /// The elements as Float, converting from any dtype.
    public var floats: [Float] { dtype == .float32 ? withUnsafeBufferPointer(as: Float.self) { Array($0) } : doubles.map { Float($0) } }

    /// The only element of a one-element tensor, as Double (nil otherwise).
    public var scalarValue: Double? { count == 1 ? doubles[0] : nil }

    /// This tensor converted to another dtype (a copy; floats to integers truncate toward zero).
    public func converted(to target: DType) -> HostTensor {
        if target == dtype { return self }
        var out = HostTensor(zeros: target, shape: shape)
        let src = doubles
        switch target {
        case .float32: out.withUnsafeMutableBufferPointer(as: Float.self) { b in for i in 0..<src.count { b[i] = Float(src[i]) } }
        case .float64: out.withUnsafeMutableBufferPointer(as: Double.self) { b in for i in 0..<src.count { b[i] = src[i] } }
        case .int32: out.withUnsafeMutableBufferPointer(as: Int32.self) { b in for i in 0..<src.count { b[i] = Int32(clamping: Int64(exactly: src[i].rounded(.towardZero)) ?? 0) } }
        case .int64: out.withUnsafeMutableBufferPointer(as: Int64.self) { b in for i in 0..<src.count { b[i] = Int64(exactly: src[i].rounded(.towardZero)) ?? 0 } }
        case .bool: out.withUnsafeMutableBufferPointer(as: Bool.self) { b in for i in 0..<src.count { b[i] = src[i] != 0 } }
        }
        return out
    }

    /// The same elements seen with another shape of equal element count (no copy).
    public func reshaped(_ newShape: [Int]) throws -> HostTensor {
        guard newShape.reduce(1, *) == count, newShape.allSatisfy({ $0 >= 0 }) else {
            throw GraphError.invalidValue("cannot reshape \(shape) to \(newShape)")
        }
        return HostTensor(dtype: dtype, shape: newShape, storage: storage)
    }

    public var description: String {
        let vals = doubles
        let shown = vals.prefix(8).map { v -> String in
            dtype.isFloatingPoint ? String(v) : String(Int64(v))
        }.joined(separator: ", ")
        return "HostTensor<\(dtype)>\(shape) [\(shown)\(vals.count > 8 ? ", …" : "")]"
    }
}

extension HostTensor: Equatable, Hashable {
    /// Bitwise equality of dtype, shape and bytes.
    public static func == (a: HostTensor, b: HostTensor) -> Bool {
        guard a.dtype == b.dtype, a.shape == b.shape else { return false }
        if a.storage === b.storage { return true }
        let n = a.count * a.dtype.byteSize
        return memcmp(a.storage.pointer, b.storage.pointer, n) == 0
    }
    public func hash(into h: inout Hasher) {
        h.combine(dtype)
        h.combine(shape)
        let n = count * dtype.byteSize
        h.combine(bytes: UnsafeRawBufferPointer(start: storage.pointer, count: min(n, 256)))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
