import XCTest
@testable import Graph

/// HostTensor: array round trips per dtype, errors, copy-on-write, reshaped, converted(to:).
final class HostTensorTests: XCTestCase {
    private func roundTrip<T: TensorScalar>(_ values: [T], shape: [Int], file: StaticString = #filePath, line: UInt = #line) throws {
        let t = try HostTensor(values, shape: shape)
        XCTAssertEqual(t.dtype, T.dtype, file: file, line: line)
        XCTAssertEqual(t.shape, shape, file: file, line: line)
        XCTAssertEqual(t.count, values.count, file: file, line: line)
        XCTAssertEqual(t.rank, shape.count, file: file, line: line)
        XCTAssertEqual(try t.scalars(as: T.self), values, file: file, line: line)
        XCTAssertEqual(Int(bitPattern: t.storage.pointer) % 64, 0, "64-byte aligned", file: file, line: line)
    }

    func testRoundTripsForEveryDType() throws {
        try roundTrip([1.5, -2, 3.25, .infinity, -0.0, 6] as [Float], shape: [2, 3])
        try roundTrip([1e300, -2, .pi, 4] as [Double], shape: [4])
        try roundTrip([Int32.min, -1, 0, Int32.max] as [Int32], shape: [2, 2])
        try roundTrip([Int64.min, 0, 42, Int64.max] as [Int64], shape: [1, 4])
        try roundTrip([true, false, false, true, true, false] as [Bool], shape: [3, 2])
        try roundTrip([] as [Float], shape: [0, 5])
        try roundTrip([7] as [Int32], shape: [])
        XCTAssertEqual(HostTensor([1, 2, 3] as [Double]).shape, [3])
        let s = HostTensor(scalar: Int64(9))
        XCTAssertEqual(s.shape, [])
        XCTAssertEqual(s.scalarValue, 9)
        XCTAssertEqual(HostTensor([true, false]).doubles, [1, 0])
        XCTAssertEqual(HostTensor(filled: 2.9, dtype: .int32, shape: [2]).doubles, [2, 2])
        XCTAssertEqual(HostTensor(filled: -2.9, dtype: .int64, shape: [1]).doubles, [-2])
        XCTAssertEqual(HostTensor(filled: 0.5, dtype: .bool, shape: [1]).doubles, [1])
        XCTAssertEqual(HostTensor(zeros: .float64, shape: [2, 2]).doubles, [0, 0, 0, 0])
        XCTAssertNil(HostTensor(zeros: .float32, shape: [2]).scalarValue)
        // Negative dimensions never trap: they are taken as 0.
        XCTAssertEqual(HostTensor(zeros: .float32, shape: [2, -3]).shape, [2, 0])
        XCTAssertEqual(HostTensor(filled: 1, dtype: .int32, shape: [-1]).doubles, [])
    }

    func testShapeMismatchAndWrongTypeThrow() {
        XCTAssertThrowsError(try HostTensor([1, 2, 3] as [Float], shape: [2, 2])) { e in
            guard case GraphError.invalidValue(let m) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(m, "3 values do not fill shape [2, 2] (4 elements)")
        }
        XCTAssertThrowsError(try HostTensor([1] as [Float], shape: [-1, -1]))
        let t = HostTensor([1, 2] as [Float])
        XCTAssertThrowsError(try t.scalars(as: Double.self)) { e in
            XCTAssertEqual("\(e)", "tensor has dtype float32, not float64")
        }
        XCTAssertThrowsError(try t.reshaped([3])) { e in XCTAssertEqual("\(e)", "cannot reshape [2] to [3]") }
        XCTAssertThrowsError(try t.reshaped([-1, -2]))
    }

    func testCopyOnWrite() throws {
        let a = try HostTensor([1, 2, 3, 4] as [Float], shape: [2, 2])
        var b = a
        XCTAssertTrue(a.storage === b.storage)
        b.withUnsafeMutableBufferPointer(as: Float.self) { $0[0] = 100 }
        XCTAssertFalse(a.storage === b.storage)
        XCTAssertEqual(try a.scalars(as: Float.self), [1, 2, 3, 4])
        XCTAssertEqual(try b.scalars(as: Float.self), [100, 2, 3, 4])
        // A unique owner mutates in place.
        let before = b.storage.pointer   // the address only: holding the storage would make it shared
        b.withUnsafeMutableBufferPointer(as: Float.self) { $0[1] = 200 }
        XCTAssertEqual(b.storage.pointer, before)
        XCTAssertEqual(try b.scalars(as: Float.self), [100, 200, 3, 4])
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a, try HostTensor([1, 2, 3, 4] as [Float], shape: [2, 2]))
    }

    func testReshapedSharesStorage() throws {
        let a = try HostTensor(Array(0..<12).map(Double.init), shape: [3, 4])
        let r = try a.reshaped([2, 6])
        XCTAssertEqual(r.shape, [2, 6])
        XCTAssertTrue(r.storage === a.storage)
        XCTAssertEqual(r.doubles, a.doubles)
        XCTAssertEqual(try a.reshaped([12]).shape, [12])
        XCTAssertNotEqual(a, r)   // equality includes shape
        var m = r
        m.withUnsafeMutableBufferPointer(as: Double.self) { $0[0] = -1 }
        XCTAssertEqual(a.doubles[0], 0)   // still copy-on-write
    }

    func testConvertedTo() throws {
        let f = try HostTensor([1.75, -1.75, 0, 3e9, .nan] as [Float], shape: [5])
        XCTAssertEqual(f.converted(to: .float32), f)
        XCTAssertEqual(f.converted(to: .int32).doubles, [1, -1, 0, Double(Int32.max), 0])   // truncation, clamping, NaN -> 0
        XCTAssertEqual(f.converted(to: .int64).doubles, [1, -1, 0, 3e9, 0])
        XCTAssertEqual(try f.converted(to: .bool).scalars(as: Bool.self), [true, true, false, true, true])
        let d = f.converted(to: .float64)
        XCTAssertEqual(d.dtype, .float64)
        XCTAssertEqual(Array(d.doubles.prefix(4)), [1.75, -1.75, 0, 3e9])
        let i = HostTensor([Int64(-3), 5])
        XCTAssertEqual(try i.converted(to: .float32).scalars(as: Float.self), [-3, 5])
        let b = HostTensor([true, false])
        XCTAssertEqual(try b.converted(to: .int32).scalars(as: Int32.self), [1, 0])
        XCTAssertEqual(HostTensor([0.1] as [Double]).converted(to: .float32).floats, [Float(0.1)])
        XCTAssertEqual(i.floats, [-3, 5])
    }

    func testEqualityHashingAndDescription() throws {
        let a = HostTensor([1, 2, 3] as [Int32])
        let b = HostTensor([1, 2, 3] as [Int32])
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.hashValue, b.hashValue)
        XCTAssertNotEqual(a, HostTensor([1, 2, 3] as [Int64]))
        XCTAssertEqual(a.description, "HostTensor<int32>[3] [1, 2, 3]")
        let long = HostTensor((0..<10).map(Float.init))
        XCTAssertTrue(long.description.hasSuffix(", …]"))
    }
}
