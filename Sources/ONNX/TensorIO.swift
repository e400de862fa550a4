#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Graph
import Runtime
import SwiftProtobuf

/// Conversions between ONNX `TensorProto`s and ``HostTensor``s, and the ONNX test-data
/// file layout (one serialized `TensorProto` per `.pb` file).
public enum ONNXTensor {
    /// The ONNX `TensorProto.DataType` code of a dtype.
    public static func code(of dtype: DType) -> Int32 {
        switch dtype {
        case .float32: return 1
        case .int64: return 7
        case .int32: return 6
        case .bool: return 9
        case .float64: return 11
        }
    }

    /// The dtype of an ONNX `TensorProto.DataType` code; throws for types SymGraph does not have.
    ///
    /// Narrow types are widened (see ``NarrowFormat``): float16, bfloat16, the float8 and
    /// float4 formats to float32; int8, uint8, int16, uint16, int4, uint4, int2 and uint2 to
    /// int32; uint32 and uint64 to int64 (values above `Int64.max` wrap).
    /// ``proto(_:name:as:)`` narrows them back when writing.
    public static func dtype(ofCode code: Int32, what: String) throws -> DType {
        switch code {
        case 1: return .float32
        case 6: return .int32
        case 7, 13: return .int64
        case 9: return .bool
        case 11: return .float64
        default:
            if let kind = narrowKind(ofCode: code) {
                return kind.isFloatingPoint ? .float32 : (kind == .uint32 ? .int64 : .int32)
            }
            let name = Onnx_TensorProto.DataType(rawValue: Int(code)).map { "\($0)" } ?? "code \(code)"
            throw ONNXError.file("\(what): element type \(name) is not supported (floats of 16 bits or fewer are widened to float, narrow integers to int32; strings, complex numbers and 6-bit floats are not supported)")
        }
    }

    /// The ONNX type codes of the narrow types.
    static let narrowCodes: [NarrowFormat.Kind: Int32] = [
        .float16: 10, .bfloat16: 16, .float8E4M3FN: 17, .float8E4M3FNUZ: 18, .float8E5M2: 19, .float8E5M2FNUZ: 20,
        .float4E2M1: 23, .float8E8M0: 24, .int8: 3, .uint8: 2, .int16: 5, .uint16: 4, .int4: 22, .uint4: 21,
        .int2: 26, .uint2: 25, .uint32: 12,
    ]
    static let narrowKinds: [Int32: NarrowFormat.Kind] = Dictionary(uniqueKeysWithValues: narrowCodes.map { ($1, $0) })

    /// The ONNX type code of a narrow type.
    public static func code(of kind: NarrowFormat.Kind) -> Int32 { narrowCodes[kind] ?? 1 }

    /// The narrow type of an ONNX type code, if it is one SymGraph widens.
    public static func narrowKind(ofCode code: Int32) -> NarrowFormat.Kind? { narrowKinds[code] }

    /// The first default-domain opset whose Cast knows the narrow type.
    public static func minimumOpset(of kind: NarrowFormat.Kind) -> Int {
        switch kind {
        case .float8E4M3FN, .float8E4M3FNUZ, .float8E5M2, .float8E5M2FNUZ: return 19
        case .int4, .uint4: return 21
        case .float4E2M1: return 23
        case .float8E8M0: return 24
        case .int2, .uint2: return 25
        default: return 13
        }
    }

    /// Converts a `TensorProto` to a host tensor, checking its size against its shape.
    ///
    /// - Parameters:
    ///   - proto: The tensor.
    ///   - limits: Size limits.
    ///   - folder: The model's folder, for tensors stored as external data (nil: external data is refused).
    public static func hostTensor(_ proto: Onnx_TensorProto, limits: ONNXLimits = ONNXLimits(), folder: String? = nil) throws -> HostTensor {
        let what = "tensor '\(proto.name)'"
        let dtype = try dtype(ofCode: proto.dataType, what: what)
        let count = try limits.elementCount(proto.dims, what: what)
        if proto.dataType == 13 || narrowKind(ofCode: proto.dataType) != nil {
            return try widened(proto, dtype: dtype, count: count, limits: limits, folder: folder, what: what)
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes <= limits.maxTensorBytes else {
            throw ONNXError.file("\(what): \(count) elements exceed the limit of \(limits.maxTensorBytes) bytes")
        }
        guard !proto.hasSegment else { throw ONNXError.file("\(what): segmented tensors are not supported") }
        let shape = proto.dims.map { Int($0) }
        var out = HostTensor(zeros: dtype, shape: shape)
        func fill(_ raw: Data) throws {
            guard raw.count == bytes else {
                throw ONNXError.file("\(what): raw data has \(raw.count) bytes, but \(dtype) \(shape) needs \(bytes)")
            }
            raw.withUnsafeBytes { src in
                if let base = src.baseAddress, bytes > 0 { out.storage.pointer.copyMemory(from: base, byteCount: bytes) }
            }
            if dtype == .bool {
                // Any non-zero byte is true; normalize so every stored Bool is 0 or 1.
                let p = out.storage.pointer.assumingMemoryBound(to: UInt8.self)
                for i in 0..<count where p[i] > 1 { p[i] = 1 }
            }
        }
        if proto.hasDataLocation, proto.dataLocation == .external {
            guard let folder else { throw ONNXError.file("\(what): external data needs the model's folder") }
            var location: String?, offset = 0, length: Int?
            for kv in proto.externalData {
                switch kv.key {
                case "location": location = kv.value
                case "offset":
                    guard let v = Int(kv.value), v >= 0 else { throw ONNXError.file("\(what): bad external data offset '\(kv.value)'") }
                    offset = v
                case "length":
                    guard let v = Int(kv.value), v >= 0 else { throw ONNXError.file("\(what): bad external data length '\(kv.value)'") }
                    length = v
                default: break
                }
            }
            guard let location else { throw ONNXError.file("\(what): external data without a location") }
            if let length, length != bytes {
                throw ONNXError.file("\(what): external data length \(length) differs from the \(bytes) bytes of \(dtype) \(shape)")
            }
            let path = try FileAccess.resolveInside(folder: folder, location: location)
            try fill(try FileAccess.read(path, maxBytes: limits.maxTensorBytes, offset: offset, length: bytes))
            return out
        }
        if proto.hasRawData {
            try fill(proto.rawData)
            return out
        }
        func mismatch(_ n: Int) -> GraphError {
            ONNXError.file("\(what): has \(n) values, but \(dtype) \(shape) needs \(count)")
        }
        switch dtype {
        case .float32:
            guard proto.floatData.count == count else { throw mismatch(proto.floatData.count) }
            out.withUnsafeMutableBufferPointer(as: Float.self) { b in for i in 0..<count { b[i] = proto.floatData[i] } }
        case .float64:
            guard proto.doubleData.count == count else { throw mismatch(proto.doubleData.count) }
            out.withUnsafeMutableBufferPointer(as: Double.self) { b in for i in 0..<count { b[i] = proto.doubleData[i] } }
        case .int32:
            guard proto.int32Data.count == count else { throw mismatch(proto.int32Data.count) }
            out.withUnsafeMutableBufferPointer(as: Int32.self) { b in for i in 0..<count { b[i] = proto.int32Data[i] } }
        case .int64:
            guard proto.int64Data.count == count else { throw mismatch(proto.int64Data.count) }
            out.withUnsafeMutableBufferPointer(as: Int64.self) { b in for i in 0..<count { b[i] = proto.int64Data[i] } }
        case .bool:
            guard proto.int32Data.count == count else { throw mismatch(proto.int32Data.count) }
            out.withUnsafeMutableBufferPointer(as: Bool.self) { b in for i in 0..<count { b[i] = proto.int32Data[i] != 0 } }
        }
        return out
    }

    /// Bits per element of a narrow (or uint64) type code as stored in `raw_data`.
    static func storedBits(_ code: Int32) -> Int { narrowKind(ofCode: code)?.bitWidth ?? 64 }

    /// Bytes of `count` packed elements of `bits` bits each (sub-byte types pack from the low bits).
    static func packedBytes(_ count: Int, bits: Int) -> Int { (count * bits + 7) / 8 }

    /// Reads a narrow-typed (or uint64) tensor into its wider dtype.
    static func widened(_ proto: Onnx_TensorProto, dtype: DType, count: Int, limits: ONNXLimits,
                        folder: String?, what: String) throws -> HostTensor {
        let code = proto.dataType
        let shape = proto.dims.map { Int($0) }
        let bits = storedBits(code)
        let bytes = packedBytes(count, bits: bits)
        var raw: Data?
        if proto.hasDataLocation, proto.dataLocation == .external {
            raw = try rawBytes(of: proto, byteCount: bytes, limits: limits, folder: folder, what: what)
        } else if proto.hasRawData {
            raw = proto.rawData
        }
        // Element bit patterns, unpacked.
        var elements = [UInt64](repeating: 0, count: count)
        if let raw {
            guard raw.count == bytes else {
                throw ONNXError.file("\(what): raw data has \(raw.count) bytes, but \(count) elements of \(bits) bits need \(bytes)")
            }
            raw.withUnsafeBytes { b in unpack(b, bits: bits, into: &elements) }
        } else if code == 13 || code == 12 {
            guard proto.uint64Data.count == count else { throw ONNXError.file("\(what): has \(proto.uint64Data.count) values, but needs \(count)") }
            elements = proto.uint64Data
        } else if bits < 8 {
            // Sub-byte types: each int32_data entry holds one packed byte.
            guard proto.int32Data.count == bytes else {
                throw ONNXError.file("\(what): has \(proto.int32Data.count) packed bytes, but \(count) elements of \(bits) bits need \(bytes)")
            }
            let packed = proto.int32Data.map { UInt8(truncatingIfNeeded: $0) }
            packed.withUnsafeBytes { b in unpack(b, bits: bits, into: &elements) }
        } else {
            guard proto.int32Data.count == count else { throw ONNXError.file("\(what): has \(proto.int32Data.count) values, but needs \(count)") }
            elements = proto.int32Data.map { UInt64(UInt32(bitPattern: $0)) }
        }
        var out = HostTensor(zeros: dtype, shape: shape)
        guard let kind = narrowKind(ofCode: code) else {
            out.withUnsafeMutableBufferPointer(as: Int64.self) { p in for i in 0..<count { p[i] = Int64(bitPattern: elements[i]) } }
            return out
        }
        let format = NarrowFormat(kind)
        switch dtype {
        case .float32:
            out.withUnsafeMutableBufferPointer(as: Float.self) { p in
                for i in 0..<count { p[i] = Float(format.decode(UInt32(truncatingIfNeeded: elements[i]))) }
            }
        case .int64:
            out.withUnsafeMutableBufferPointer(as: Int64.self) { p in for i in 0..<count { p[i] = Int64(UInt32(truncatingIfNeeded: elements[i])) } }
        default:
            out.withUnsafeMutableBufferPointer(as: Int32.self) { p in
                for i in 0..<count { p[i] = Int32(format.decode(UInt32(truncatingIfNeeded: elements[i]))) }
            }
        }
        return out
    }

    /// Splits little-endian packed bytes into elements of `bits` bits (1, 2, 4, 8, 16, 32 or 64).
    static func unpack(_ b: UnsafeRawBufferPointer, bits: Int, into elements: inout [UInt64]) {
        if bits < 8 {
            let perByte = 8 / bits, mask = UInt8((1 << bits) - 1)
            for i in 0..<elements.count {
                elements[i] = UInt64((b[i / perByte] >> UInt8((i % perByte) * bits)) & mask)
            }
            return
        }
        let size = bits / 8
        for i in 0..<elements.count {
            var v: UInt64 = 0
            for k in 0..<size { v |= UInt64(b[i * size + k]) << (8 * UInt64(k)) }
            elements[i] = v
        }
    }

    /// Packs elements of `bits` bits into little-endian bytes (the inverse of ``unpack``).
    static func pack(_ elements: [UInt64], bits: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: packedBytes(elements.count, bits: bits))
        if bits < 8 {
            let perByte = 8 / bits, mask = UInt64((1 << bits) - 1)
            for (i, e) in elements.enumerated() { bytes[i / perByte] |= UInt8((e & mask) << UInt64((i % perByte) * bits)) }
            return bytes
        }
        let size = bits / 8
        for (i, e) in elements.enumerated() { for k in 0..<size { bytes[i * size + k] = UInt8(truncatingIfNeeded: e >> (8 * UInt64(k))) } }
        return bytes
    }

    /// The external-data bytes of a tensor.
    static func rawBytes(of proto: Onnx_TensorProto, byteCount: Int, limits: ONNXLimits, folder: String?, what: String) throws -> Data {
        guard let folder else { throw ONNXError.file("\(what): external data needs the model's folder") }
        var location: String?, offset = 0
        for kv in proto.externalData {
            if kv.key == "location" { location = kv.value }
            if kv.key == "offset" {
                guard let v = Int(kv.value), v >= 0 else { throw ONNXError.file("\(what): bad external data offset '\(kv.value)'") }
                offset = v
            }
        }
        guard let location else { throw ONNXError.file("\(what): external data without a location") }
        let path = try FileAccess.resolveInside(folder: folder, location: location)
        return try FileAccess.read(path, maxBytes: limits.maxTensorBytes, offset: offset, length: byteCount)
    }

    /// Converts a host tensor to a `TensorProto` of ONNX type `code`, narrowing widened types:
    /// floats round to nearest even (overflow to infinity, or NaN in formats without it),
    /// integers wrap. Other codes write the tensor's own type.
    public static func proto(_ t: HostTensor, name: String, as code: Int32) -> Onnx_TensorProto {
        guard code != self.code(of: t.dtype), (try? dtype(ofCode: code, what: "")) == t.dtype else { return proto(t, name: name) }
        var p = Onnx_TensorProto()
        p.name = name
        p.dataType = code
        p.dims = t.shape.map { Int64($0) }
        let elements: [UInt64]
        if let kind = narrowKind(ofCode: code) {
            let format = NarrowFormat(kind, saturate: false)
            switch t.dtype {
            case .float32: elements = t.floats.map { UInt64(format.encode(Double($0))) }
            case .float64: elements = t.doubles.map { UInt64(format.encode($0)) }
            case .int64: elements = ((try? t.scalars(as: Int64.self)) ?? []).map { UInt64(format.encode($0)) }
            default: elements = ((try? t.scalars(as: Int32.self)) ?? []).map { UInt64(format.encode(Int64($0))) }
            }
        } else {
            elements = ((try? t.scalars(as: Int64.self)) ?? []).map { UInt64(bitPattern: $0) }
        }
        p.rawData = Data(pack(elements, bits: storedBits(code)))
        return p
    }

    /// Converts a host tensor to a `TensorProto` (little-endian `raw_data`).
    public static func proto(_ t: HostTensor, name: String) -> Onnx_TensorProto {
        var p = Onnx_TensorProto()
        p.name = name
        p.dataType = code(of: t.dtype)
        p.dims = t.shape.map { Int64($0) }
        let n = t.count * t.dtype.byteSize
        p.rawData = Data(bytes: t.storage.pointer, count: n)
        return p
    }

    /// Reads one `TensorProto` file (the ONNX test-data layout) and returns its name and value.
    public static func read(path: String, limits: ONNXLimits = ONNXLimits()) throws -> (name: String, value: HostTensor) {
        let data = try FileAccess.read(path, maxBytes: limits.maxFileBytes)
        let proto: Onnx_TensorProto
        do { proto = try Onnx_TensorProto(serializedBytes: data) } catch {
            throw ONNXError.file("'\(path)' is not a valid TensorProto: \(error)")
        }
        return (proto.name, try hostTensor(proto, limits: limits, folder: nil))
    }

    /// Writes a host tensor as one `TensorProto` file named `name` (of ONNX type `code` when given).
    public static func write(_ t: HostTensor, name: String, path: String, as code: Int32? = nil) throws {
        let data: Data = try (code.map { proto(t, name: name, as: $0) } ?? proto(t, name: name)).serializedBytes()
        try FileAccess.write(data, to: path)
    }

    /// Reads the `input_*.pb` (or other `prefix_*.pb`) files of an ONNX test-data folder, in index order.
    public static func readFolder(_ folder: String, prefix: String = "input_", limits: ONNXLimits = ONNXLimits()) throws -> [(name: String, value: HostTensor)] {
        let files = try FileAccess.listFiles(folder).compactMap { f -> (Int, String)? in
            guard f.hasPrefix(prefix), f.hasSuffix(".pb"),
                  let k = Int(f.dropFirst(prefix.count).dropLast(3)) else { return nil }
            return (k, f)
        }.sorted { $0.0 < $1.0 }
        return try files.map { try read(path: folder + "/" + $0.1, limits: limits) }
    }
}

extension ONNXTensor {
    /// Creates a folder (and its parents) if it does not exist.
    public static func makeFolder(_ path: String) throws { try FileAccess.makeDirectory(path) }
}
