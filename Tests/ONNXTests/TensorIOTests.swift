import Foundation
import XCTest
import Graph
@testable import ONNX

/// `TensorProto` ↔ `HostTensor`, test-data files, and hostile tensors.
final class TensorIOTests: XCTestCase {
    func testRoundTripEveryDType() throws {
        let ts: [HostTensor] = [
            try HostTensor([1, -2.5, 3, 4] as [Float], shape: [2, 2]),
            try HostTensor([1, -2.5, 1e300] as [Double], shape: [3]),
            try HostTensor([1, -7, Int32.max] as [Int32], shape: [3, 1]),
            try HostTensor([Int64.min, 0, Int64.max] as [Int64], shape: [3]),
            try HostTensor([true, false, true] as [Bool], shape: [1, 3]),
            HostTensor(zeros: .float32, shape: [0, 5]),
            HostTensor(scalar: Float(2)),
        ]
        for t in ts {
            let p = ONNXTensor.proto(t, name: "x")
            XCTAssertEqual(p.name, "x")
            XCTAssertEqual(try ONNXTensor.hostTensor(p), t)
            let bytes: Data = try p.serializedBytes()
            XCTAssertEqual(try ONNXTensor.hostTensor(try Onnx_TensorProto(serializedBytes: bytes)), t)
        }
    }

    func testTypedFields() throws {
        var p = Onnx_TensorProto()
        p.dataType = 1; p.dims = [2]; p.floatData = [1.5, -2]
        XCTAssertEqual(try ONNXTensor.hostTensor(p).floats, [1.5, -2])
        p = Onnx_TensorProto(); p.dataType = 7; p.dims = [3]; p.int64Data = [1, -2, 3]
        XCTAssertEqual(try ONNXTensor.hostTensor(p).scalars(as: Int64.self), [1, -2, 3])
        p = Onnx_TensorProto(); p.dataType = 9; p.dims = [2]; p.int32Data = [0, 5]
        XCTAssertEqual(try ONNXTensor.hostTensor(p).scalars(as: Bool.self), [false, true])
        p = Onnx_TensorProto(); p.dataType = 9; p.dims = [2]; p.rawData = Data([0, 7])
        XCTAssertEqual(try ONNXTensor.hostTensor(p).scalars(as: Bool.self), [false, true], "non-zero bytes are normalized to true")
    }

    func testNarrowTypesAreWidenedAndNarrowedBack() throws {
        var p = Onnx_TensorProto()
        p.dataType = 10; p.dims = [4]; p.rawData = Data([0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0x00, 0x7C])  // 1, -2, 2^-24, inf
        let h = try ONNXTensor.hostTensor(p)
        XCTAssertEqual(h.dtype, .float32)
        XCTAssertEqual(h.floats, [1, -2, Float(sign: .plus, exponent: -24, significand: 1), .infinity])
        XCTAssertEqual(ONNXTensor.proto(h, name: "h", as: 10).rawData, p.rawData)
        XCTAssertEqual(ONNXTensor.proto(HostTensor([Float(1.0009765625 + 0.0004)]), name: "r", as: 10).rawData, Data([0x01, 0x3C]),
                       "rounds to the nearest half")
        p = Onnx_TensorProto(); p.dataType = 2; p.dims = [3]; p.rawData = Data([0, 200, 255])
        XCTAssertEqual(try ONNXTensor.hostTensor(p).scalars(as: Int32.self), [0, 200, 255])
        p = Onnx_TensorProto(); p.dataType = 3; p.dims = [2]; p.int32Data = [-128, 127]
        let i8 = try ONNXTensor.hostTensor(p)
        XCTAssertEqual(try i8.scalars(as: Int32.self), [-128, 127])
        XCTAssertEqual(ONNXTensor.proto(i8, name: "", as: 3).rawData, Data([0x80, 0x7F]))
        p = Onnx_TensorProto(); p.dataType = 13; p.dims = [1]; p.uint64Data = [42]
        XCTAssertEqual(try ONNXTensor.hostTensor(p).scalars(as: Int64.self), [42])
        p = Onnx_TensorProto(); p.dataType = 16; p.dims = [1]; p.rawData = Data([0x80, 0x3F])  // bfloat16 1.0
        XCTAssertEqual(try ONNXTensor.hostTensor(p).floats, [1])
        p.rawData = Data([0x80])
        XCTAssertThrowsError(try ONNXTensor.hostTensor(p))
    }

    func testSubByteAndFloat8TensorsArePackedAsONNXSays() throws {
        // int4: two per byte, the first in the low nibble; an odd count leaves the last high nibble 0.
        var p = Onnx_TensorProto()
        p.dataType = 22; p.dims = [3]; p.rawData = Data([0x8F, 0x07])  // -1, -8, 7
        let i4 = try ONNXTensor.hostTensor(p)
        XCTAssertEqual(i4.dtype, .int32)
        XCTAssertEqual(try i4.scalars(as: Int32.self), [-1, -8, 7])
        XCTAssertEqual(ONNXTensor.proto(i4, name: "", as: 22).rawData, p.rawData)
        // The same in int32_data (one packed byte per entry).
        p.clearRawData(); p.int32Data = [0x8F, 0x07]
        XCTAssertEqual(try ONNXTensor.hostTensor(p).scalars(as: Int32.self), [-1, -8, 7])
        p.int32Data = [0x8F]
        XCTAssertThrowsError(try ONNXTensor.hostTensor(p), "3 int4 values need 2 packed bytes")
        // uint2: four per byte from the low bits.
        p = Onnx_TensorProto(); p.dataType = 25; p.dims = [5]; p.rawData = Data([0b11_10_01_00, 0b10])
        let u2 = try ONNXTensor.hostTensor(p)
        XCTAssertEqual(try u2.scalars(as: Int32.self), [0, 1, 2, 3, 2])
        XCTAssertEqual(ONNXTensor.proto(u2, name: "", as: 25).rawData, p.rawData)
        // float4 E2M1: 0x1 = 0.5, 0xF = -6 (and values round to nearest even when written).
        p = Onnx_TensorProto(); p.dataType = 23; p.dims = [2]; p.rawData = Data([0xF1])
        XCTAssertEqual(try ONNXTensor.hostTensor(p).floats, [0.5, -6])
        XCTAssertEqual(ONNXTensor.proto(HostTensor([Float(0.6), -100]), name: "", as: 23).rawData, Data([0xF1]))
        // float8 E4M3FN: 0x38 = 1.0, 0x7E = 448, 0x7F = NaN; E5M2 0x7C = inf.
        p = Onnx_TensorProto(); p.dataType = 17; p.dims = [3]; p.rawData = Data([0x38, 0x7E, 0x7F])
        let f8 = try ONNXTensor.hostTensor(p).floats
        XCTAssertEqual(Array(f8[0..<2]), [1, 448]); XCTAssertTrue(f8[2].isNaN)
        p.dataType = 19; p.dims = [1]; p.rawData = Data([0x7C])
        XCTAssertEqual(try ONNXTensor.hostTensor(p).floats, [.infinity])
        // E8M0: 127 = 1.0, 0xFF = NaN.
        p.dataType = 24; p.rawData = Data([130])
        XCTAssertEqual(try ONNXTensor.hostTensor(p).floats, [8])
    }

    func testFilesAndFolders() throws {
        let dir = try M.tempFolder()
        try ONNXTensor.write(try HostTensor([1, 2] as [Float], shape: [2]), name: "b", path: dir + "/input_1.pb")
        try ONNXTensor.write(HostTensor(scalar: Int64(4)), name: "a", path: dir + "/input_0.pb")
        try ONNXTensor.write(HostTensor(scalar: Int64(9)), name: "z", path: dir + "/input_10.pb")
        let all = try ONNXTensor.readFolder(dir)
        XCTAssertEqual(all.map(\.name), ["a", "b", "z"], "input_10 sorts after input_1 by index")
        XCTAssertEqual(all[1].value.floats, [1, 2])
    }

    private func assertThrows(_ p: Onnx_TensorProto, _ fragment: String, limits: ONNXLimits = ONNXLimits(),
                              folder: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ONNXTensor.hostTensor(p, limits: limits, folder: folder), file: file, line: line) { e in
            XCTAssertTrue("\(e)".contains(fragment), "\(e)", file: file, line: line)
        }
    }

    func testWrongSizesAndAbsurdShapes() {
        var p = Onnx_TensorProto()
        p.name = "w"; p.dataType = 1; p.dims = [2, 3]; p.rawData = Data(count: 20)
        assertThrows(p, "raw data has 20 bytes, but float32 [2, 3] needs 24")
        p.clearRawData(); p.floatData = [1, 2]
        assertThrows(p, "has 2 values, but float32 [2, 3] needs 6")
        p = Onnx_TensorProto(); p.dataType = 1; p.dims = [1 << 40, 1 << 40]
        assertThrows(p, "more than")
        p.dims = [Int64.max, 2]
        assertThrows(p, "more than")
        p.dims = [-1]
        assertThrows(p, "negative dimension")
        p.dims = [1 << 20, 1 << 12]
        assertThrows(p, "more than", limits: ONNXLimits(maxElements: 1 << 31, maxTensorBytes: 1 << 20))
        p = Onnx_TensorProto(); p.dataType = 8; p.dims = [1]
        assertThrows(p, "string")
        p.dataType = 99
        assertThrows(p, "code 99")
    }

    func testTruncatedTensorFile() throws {
        let dir = try M.tempFolder()
        let bytes: Data = try ONNXTensor.proto(try HostTensor([1, 2, 3] as [Float], shape: [3]), name: "x").serializedBytes()
        try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: dir + "/t.pb"))
        XCTAssertThrowsError(try ONNXTensor.read(path: dir + "/t.pb")) { e in
            XCTAssertTrue("\(e)".contains("not a valid TensorProto") || "\(e)".contains("raw data"), "\(e)")
        }
        XCTAssertThrowsError(try ONNXTensor.read(path: dir + "/missing.pb")) { e in XCTAssertTrue("\(e)".contains("cannot open"), "\(e)") }
    }

    func testExternalDataStaysInsideTheFolder() throws {
        let root = try M.tempFolder()
        let dir = root + "/model"
        try FileManager.default.createDirectory(atPath: dir + "/weights", withIntermediateDirectories: true)
        var raw = Data([9, 9, 9, 9])
        raw.append(contentsOf: [Float(1.5), -2].withUnsafeBytes { Data($0) })
        try raw.write(to: URL(fileURLWithPath: dir + "/weights/w.bin"))
        try Data(count: 8).write(to: URL(fileURLWithPath: root + "/secret.bin"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.bin", withDestinationPath: root + "/secret.bin")

        func ext(_ location: String, offset: Int = 4, length: Int? = 8) -> Onnx_TensorProto {
            var p = Onnx_TensorProto()
            p.name = "w"; p.dataType = 1; p.dims = [2]; p.dataLocation = .external
            var kvs: [(String, String)] = [("location", location), ("offset", "\(offset)")]
            if let length { kvs.append(("length", "\(length)")) }
            p.externalData = kvs.map { var e = Onnx_StringStringEntryProto(); e.key = $0.0; e.value = $0.1; return e }
            return p
        }
        XCTAssertEqual(try ONNXTensor.hostTensor(ext("weights/w.bin"), folder: dir).floats, [1.5, -2])
        assertThrows(ext("/etc/passwd"), "absolute", folder: dir)
        assertThrows(ext("../secret.bin", offset: 0), "leaves the model's folder", folder: dir)
        assertThrows(ext("weights/../../secret.bin", offset: 0), "leaves the model's folder", folder: dir)
        assertThrows(ext("link.bin", offset: 0), "outside the model's folder", folder: dir)
        assertThrows(ext("weights/w.bin", offset: 8), "bytes at offset", folder: dir)
        assertThrows(ext("weights/w.bin", length: 4), "external data length 4", folder: dir)
        assertThrows(ext("nope.bin"), "does not exist", folder: dir)
        assertThrows(ext("weights/w.bin"), "needs the model's folder", folder: nil)
    }
}
