#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Graph
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
    /// Narrow storage types are widened: float16 and bfloat16 to float32; int8, uint8, int16 and
    /// uint16 to int32; uint32 and uint64 to int64 (values above `Int64.max` wrap).
    /// ``proto(_:name:as:)`` narrows them back when writing.
    public static func dtype(ofCode code: Int32, what: String) throws -> DType {
        switch code {
        case 1, 10, 16: return .float32
        case 2, 3, 4, 5, 6: return .int32
        case 7, 12, 13: return .int64
        case 9: return .bool
        case 11: return .float64
        default:
            let name = Onnx_TensorProto.DataType(rawValue: Int(code)).map { "\($0)" } ?? "code \(code)"
            throw ONNXError.file("\(what): element type \(name) is not supported (float, double, float16, bfloat16 and integers are)")
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
        let stored = storedSize(proto.dataType)
        if ![1, 6, 7, 9, 11].contains(proto.dataType) {
            return try widened(proto, dtype: dtype, count: count, storedSize: stored, limits: limits, folder: folder, what: what)
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

    /// Bytes per element of an ONNX type code as stored in `raw_data`.
    static func storedSize(_ code: Int32) -> Int {
        switch code {
        case 2, 3, 9: return 1
        case 4, 5, 10, 16: return 2
        case 1, 6, 12: return 4
        default: return 8
        }
    }

    /// Reads a narrow-typed tensor into its wider dtype.
    static func widened(_ proto: Onnx_TensorProto, dtype: DType, count: Int, storedSize: Int, limits: ONNXLimits,
                        folder: String?, what: String) throws -> HostTensor {
        let code = proto.dataType
        let shape = proto.dims.map { Int($0) }
        var bits = [UInt64](repeating: 0, count: count)
        var raw: Data?
        if proto.hasDataLocation, proto.dataLocation == .external {
            raw = try rawBytes(of: proto, count: count, size: storedSize, limits: limits, folder: folder, what: what)
        } else if proto.hasRawData {
            raw = proto.rawData
        }
        if let raw {
            guard raw.count == count * storedSize else {
                throw ONNXError.file("\(what): raw data has \(raw.count) bytes, but \(count) elements of \(storedSize) bytes need \(count * storedSize)")
            }
            raw.withUnsafeBytes { b in
                for i in 0..<count {
                    var v: UInt64 = 0
                    for k in 0..<storedSize { v |= UInt64(b[i * storedSize + k]) << (8 * UInt64(k)) }
                    bits[i] = v
                }
            }
        } else if code == 12 || code == 13 {
            guard proto.uint64Data.count == count else { throw ONNXError.file("\(what): has \(proto.uint64Data.count) values, but needs \(count)") }
            bits = proto.uint64Data
        } else {
            guard proto.int32Data.count == count else { throw ONNXError.file("\(what): has \(proto.int32Data.count) values, but needs \(count)") }
            bits = proto.int32Data.map { UInt64(UInt32(bitPattern: $0)) }
        }
        var out = HostTensor(zeros: dtype, shape: shape)
        switch code {
        case 10:
            out.withUnsafeMutableBufferPointer(as: Float.self) { p in for i in 0..<count { p[i] = halfToFloat(UInt16(truncatingIfNeeded: bits[i])) } }
        case 16:
            out.withUnsafeMutableBufferPointer(as: Float.self) { p in for i in 0..<count { p[i] = Float(bitPattern: UInt32(truncatingIfNeeded: bits[i]) << 16) } }
        case 2: out.withUnsafeMutableBufferPointer(as: Int32.self) { p in for i in 0..<count { p[i] = Int32(UInt8(truncatingIfNeeded: bits[i])) } }
        case 3: out.withUnsafeMutableBufferPointer(as: Int32.self) { p in for i in 0..<count { p[i] = Int32(Int8(truncatingIfNeeded: bits[i])) } }
        case 4: out.withUnsafeMutableBufferPointer(as: Int32.self) { p in for i in 0..<count { p[i] = Int32(UInt16(truncatingIfNeeded: bits[i])) } }
        case 5: out.withUnsafeMutableBufferPointer(as: Int32.self) { p in for i in 0..<count { p[i] = Int32(Int16(truncatingIfNeeded: bits[i])) } }
        case 12: out.withUnsafeMutableBufferPointer(as: Int64.self) { p in for i in 0..<count { p[i] = Int64(UInt32(truncatingIfNeeded: bits[i])) } }
        default: out.withUnsafeMutableBufferPointer(as: Int64.self) { p in for i in 0..<count { p[i] = Int64(bitPattern: bits[i]) } }
        }
        return out
    }

    /// The external-data bytes of a tensor.
    static func rawBytes(of proto: Onnx_TensorProto, count: Int, size: Int, limits: ONNXLimits, folder: String?, what: String) throws -> Data {
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
        return try FileAccess.read(path, maxBytes: limits.maxTensorBytes, offset: offset, length: count * size)
    }

    /// IEEE half-precision bits to Float.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exp = Int((h >> 10) & 0x1F), frac = UInt32(h & 0x3FF)
        if exp == 0 {
            let v = Float(frac) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (frac << 13)) }
        return Float(bitPattern: sign | (UInt32(exp - 15 + 127) << 23) | (frac << 13))
    }

    /// Float to IEEE half-precision bits (round to nearest even).
    static func floatToHalf(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exp = Int((x >> 23) & 0xFF), frac = x & 0x7F_FFFF
        if exp == 255 { return sign | 0x7C00 | (frac != 0 ? 0x200 : 0) }
        let e = exp - 127 + 15
        if e >= 31 { return sign | 0x7C00 }
        if e <= 0 {
            if e < -10 { return sign }
            let m = frac | 0x80_0000
            let shift = UInt32(14 - e)
            var v = m >> shift
            let rem = m & ((1 << shift) - 1), half = UInt32(1) << (shift - 1)
            if rem > half || (rem == half && (v & 1) == 1) { v += 1 }
            return sign | UInt16(v)
        }
        var v = UInt32(e) << 10 | (frac >> 13)
        let rem = frac & 0x1FFF
        if rem > 0x1000 || (rem == 0x1000 && (v & 1) == 1) { v += 1 }
        return sign | UInt16(truncatingIfNeeded: v)
    }

    /// Converts a host tensor to a `TensorProto` of ONNX type `code` (narrowing widened types:
    /// float16/bfloat16 round to nearest even, integers wrap).
    public static func proto(_ t: HostTensor, name: String, as code: Int32) -> Onnx_TensorProto {
        let size = storedSize(code)
        guard code != self.code(of: t.dtype), (try? dtype(ofCode: code, what: "")) == t.dtype else { return proto(t, name: name) }
        var p = Onnx_TensorProto()
        p.name = name
        p.dataType = code
        p.dims = t.shape.map { Int64($0) }
        let n = t.count
        var bytes = [UInt8](repeating: 0, count: n * size)
        let ints: [UInt64]
        switch code {
        case 10: ints = t.floats.map { UInt64(floatToHalf($0)) }
        case 16: ints = t.floats.map { f in
            let b = f.bitPattern
            if f.isNaN { return UInt64(0x7FC0) }
            let r = b &+ 0x7FFF &+ ((b >> 16) & 1)
            return UInt64(r >> 16) }
        default: ints = t.dtype == .int64 ? (try? t.scalars(as: Int64.self))?.map { UInt64(bitPattern: $0) } ?? []
                                           : ((try? t.scalars(as: Int32.self)) ?? []).map { UInt64(bitPattern: Int64($0)) }
        }
        for i in 0..<Swift.min(n, ints.count) { for k in 0..<size { bytes[i * size + k] = UInt8(truncatingIfNeeded: ints[i] >> (8 * UInt64(k))) } }
        p.rawData = Data(bytes)
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
