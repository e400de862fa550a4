import XCTest
import NN
import Runtime

final class CheckpointTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "symgraph-ckpt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func sample() throws -> Checkpoint {
        var tensors: [String: HostTensor] = [:]
        tensors["dense1/w"] = try HostTensor([Float(1.5), -0.0, .infinity, .nan, 3e-39, 7], shape: [2, 3])
        tensors["d"] = try HostTensor([1.25, -2.5], shape: [2, 1])
        tensors["i32"] = HostTensor([Int32.min, 0, Int32.max])
        tensors["i64"] = HostTensor(scalar: Int64(-42))
        tensors["flags"] = HostTensor([true, false, true])
        tensors["empty"] = HostTensor(zeros: .float32, shape: [0, 4])
        tensors["ünïcode \"name\"\n"] = HostTensor([Float(1)])
        return Checkpoint(tensors: tensors, metadata: ["epoch": "3", "note": "a \"quoted\" value"])
    }

    /// Writing then reading gives bitwise-equal tensors (NaN payloads and -0 included) and the metadata.
    func testRoundTripIsBitwise() throws {
        let c = try sample()
        let path = dir + "/model.safetensors"
        try c.write(to: path)
        let back = try Checkpoint.read(from: path)
        XCTAssertEqual(back.metadata, c.metadata)
        XCTAssertEqual(Set(back.tensors.keys), Set(c.tensors.keys))
        for (k, v) in c.tensors {
            XCTAssertEqual(back.tensors[k], v, k)  // HostTensor == compares dtype, shape and bytes
        }
        // No temporary files are left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.safetensors"])
    }

    /// The layout follows the safetensors specification, checked on the raw bytes.
    func testLayout() throws {
        let c = Checkpoint(tensors: ["b": HostTensor([Float(2)]), "a": try HostTensor([Int32(7), 8], shape: [1, 2])])
        let bytes = c.encoded()
        let n = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        XCTAssertEqual((8 + n) % 8, 0, "header padded to 8 bytes")
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        let json = try JSONSerialization.jsonObject(with: Data(header.utf8)) as? [String: [String: Any]]
        XCTAssertEqual(json?["a"]?["dtype"] as? String, "I32")
        XCTAssertEqual(json?["a"]?["shape"] as? [Int], [1, 2])
        XCTAssertEqual(json?["a"]?["data_offsets"] as? [Int], [0, 8])
        XCTAssertEqual(json?["b"]?["data_offsets"] as? [Int], [8, 12])
        XCTAssertEqual(Array(bytes[(8 + n)...]), [7, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x40])
    }

    /// Builds a file from a header string and a data section.
    func file(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        var n = length ?? UInt64(h.count)
        var out: [UInt8] = []
        for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
        return out + h + data
    }

    func assertRejects(_ bytes: [UInt8], _ check: (CheckpointError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Checkpoint(decoding: bytes), file: file, line: line) { e in
            guard let ce = e as? CheckpointError else { return XCTFail("not a CheckpointError: \(e)", file: file, line: line) }
            XCTAssertTrue(check(ce), "unexpected error: \(ce)", file: file, line: line)
            XCTAssertFalse(ce.description.isEmpty)
        }
    }

    func testTruncatedFilesAreRejected() throws {
        let good = try sample().encoded()
        assertRejects([]) { if case .truncated = $0 { return true } else { return false } }
        assertRejects(Array(good.prefix(5))) { if case .truncated = $0 { return true } else { return false } }
        // Cut inside the header.
        assertRejects(Array(good.prefix(40))) { if case .truncated = $0 { return true } else { return false } }
        // Cut inside the data: the last tensor's offsets now point past the end.
        assertRejects(Array(good.dropLast(3))) {
            if case .offsetsOutOfRange = $0 { return true } else { return false }
        }
        // Also through the file reader.
        let path = dir + "/cut.safetensors"
        FileManager.default.createFile(atPath: path, contents: Data(good.prefix(good.count / 2)))
        XCTAssertThrowsError(try Checkpoint.read(from: path))
    }

    func testOversizeHeaderIsRejected() {
        assertRejects(file("{}", length: 1 << 40)) { $0 == .headerTooLarge(1 << 40) }
        assertRejects(file("{}", length: UInt64.max)) { $0 == .headerTooLarge(UInt64.max) }
        assertRejects(file("{}", length: Checkpoint.maxHeaderSize + 1)) { if case .headerTooLarge = $0 { return true } else { return false } }
        // Through the reader: rejected before reading the rest.
        let path = dir + "/huge.safetensors"
        FileManager.default.createFile(atPath: path, contents: Data(file("{}", length: 1 << 50)))
        XCTAssertThrowsError(try Checkpoint.read(from: path)) { e in
            XCTAssertEqual(e as? CheckpointError, .headerTooLarge(1 << 50))
        }
    }

    func testOutOfRangeOffsetsAreRejected() {
        let data = [UInt8](repeating: 0, count: 8)
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: data)) {
            $0 == .offsetsOutOfRange(tensor: "w", begin: 0, end: 16, dataSize: 8)
        }
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: data)) {
            if case .offsetsOutOfRange = $0 { return true } else { return false }
        }
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: data)) {
            if case .offsetsOutOfRange = $0 { return true } else { return false }
        }
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999999]}}"#, data: data)) {
            if case .offsetsOutOfRange = $0 { return true } else { return false }
        }
    }

    func testOverlapsGapsAndSizeMismatchesAreRejected() {
        let data = [UInt8](repeating: 0, count: 8)
        // Overlapping.
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: data)) {
            if case .nonContiguous = $0 { return true } else { return false }
        }
        // A gap at the start.
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: data)) {
            if case .nonContiguous = $0 { return true } else { return false }
        }
        // Bytes left over after the last tensor.
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: data)) {
            if case .nonContiguous = $0 { return true } else { return false }
        }
        // Size does not match dtype × shape.
        assertRejects(file(#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}"#, data: data)) {
            $0 == .sizeMismatch(tensor: "a", expected: 16, actual: 8)
        }
    }

    func testBadHeadersAreRejected() {
        let data = [UInt8](repeating: 0, count: 4)
        assertRejects(file(#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: data)) {
            $0 == .unsupportedDType(tensor: "a", dtype: "F16")
        }
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: data)) {
            if case .invalidShape = $0 { return true } else { return false }
        }
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}"#, data: data)) {
            if case .invalidShape = $0 { return true } else { return false }
        }
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: data)) {
            if case .invalidShape = $0 { return true } else { return false }
        }
        for bad in [#"{"a":"#, #"{"a":{"dtype":"F32",}}"#, "{\"a\u{1}\":1}", #"not json"#, #"{"a":1} trailing"#, #"{"__metadata__":{"k":1}}"#,
                    #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                    "{\"a\":" + String(repeating: "[", count: 10_000)] {
            assertRejects(file(bad, data: data)) { if case .invalidHeader = $0 { return true } else { return false } }
        }
    }

    /// Saving from a session and restoring into a fresh one reproduces every variable bitwise.
    func testSessionSaveAndRestore() throws {
        let g = Graph()
        let w = g.variable("w", initializer: .glorotUniform, shape: [4, 3], seed: 7)
        let b = g.variable("b", initializer: .normal(mean: 0, std: 1), shape: [3], seed: 9)
        let s1 = try Session(g)
        let path = dir + "/vars.safetensors"
        try Checkpoint.save([w, b], from: s1, to: path, metadata: ["k": "v"])

        let g2 = Graph()
        let w2 = g2.variable("w", initializer: .zeros, shape: [4, 3])
        let b2 = g2.variable("b", initializer: .zeros, shape: [3])
        let s2 = try Session(g2)
        let meta = try Checkpoint.restore([w2, b2], into: s2, from: path)
        XCTAssertEqual(meta, ["k": "v"])
        XCTAssertEqual(try s2.variable(w2), try s1.variable(w))
        XCTAssertEqual(try s2.variable(b2), try s1.variable(b))

        // A missing or misshapen variable is reported before anything changes.
        let g3 = Graph()
        let w3 = g3.variable("w", initializer: .zeros, shape: [3, 4])
        let s3 = try Session(g3)
        XCTAssertThrowsError(try Checkpoint.restore([w3], into: s3, from: path)) { e in
            guard case .incompatible(let n, _)? = e as? CheckpointError else { return XCTFail("\(e)") }
            XCTAssertEqual(n, "w")
        }
        let c = g3.variable("c", initializer: .zeros, shape: [1])
        XCTAssertThrowsError(try Checkpoint.restore([c], into: s3, from: path)) { e in
            XCTAssertEqual(e as? CheckpointError, .missingTensor("c"))
        }
    }

    /// Overwriting replaces the file in one step; a failed write leaves the previous checkpoint intact.
    func testAtomicOverwrite() throws {
        let path = dir + "/m.safetensors"
        try Checkpoint(tensors: ["x": HostTensor([Float(1)])]).write(to: path)
        try Checkpoint(tensors: ["x": HostTensor([Float(2)])]).write(to: path)
        XCTAssertEqual(try Checkpoint.read(from: path).tensors["x"]?.doubles, [2])
        // Writing into a missing folder fails with an I/O error and touches nothing.
        XCTAssertThrowsError(try Checkpoint(tensors: [:]).write(to: dir + "/missing/m.safetensors")) { e in
            guard case .io? = e as? CheckpointError else { return XCTFail("\(e)") }
        }
        // A rename that cannot happen (the target is a non-empty folder) leaves no temporary file.
        let blocker = dir + "/blocker"
        try FileManager.default.createDirectory(atPath: blocker + "/inner", withIntermediateDirectories: true)
        XCTAssertThrowsError(try Checkpoint(tensors: [:]).write(to: blocker))
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), ["m.safetensors", "blocker"])
        XCTAssertEqual(try Checkpoint.read(from: path).tensors["x"]?.doubles, [2])
    }

    /// A file written by the reference `safetensors` Python library (`safetensors.numpy.save_file`,
    /// version 0.8.0) with a float32 [2, 3] arange, an int64 [1, -2] and a bool [true, false] tensor.
    func testReadsAFileWrittenByTheSafetensorsLibrary() throws {
        let b64 = "yAAAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJzcmMiOiJudW1weSJ9LCJpIjp7ImR0eXBlIjoiSTY0Iiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbMCwxNl19LCJ3Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsyLDNdLCJkYXRhX29mZnNldHMiOlsxNiw0MF19LCJiIjp7ImR0eXBlIjoiQk9PTCIsInNoYXBlIjpbMl0sImRhdGFfb2Zmc2V0cyI6WzQwLDQyXX19IAEAAAAAAAAA/v////////8AAAAAAACAPwAAAEAAAEBAAACAQAAAoEABAA=="
        let bytes = [UInt8](try XCTUnwrap(Data(base64Encoded: b64)))
        let c = try Checkpoint(decoding: bytes)
        XCTAssertEqual(c.metadata, ["src": "numpy"])
        XCTAssertEqual(c.tensors["w"], try HostTensor([Float(0), 1, 2, 3, 4, 5], shape: [2, 3]))
        XCTAssertEqual(c.tensors["i"], HostTensor([Int64(1), -2]))
        XCTAssertEqual(c.tensors["b"], HostTensor([true, false]))
    }
}
