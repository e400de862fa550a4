import XCTest
@testable import Runtime

/// Bitwise ops on int32 and int64 through the Session (O0 and O2, fused with neighbours),
/// against values worked out by hand from the two's-complement bits.
final class BitwiseTests: XCTestCase {
    func testBitwiseOpsAndShifts() throws {
        let a: [Int64] = [12, -1, 5, -8, 1, 7]
        let b: [Int64] = [10, 3, 0, 2, 40, -1]
        for dtype in [DType.int32, .int64] {
            for level in [OptimizationLevel.O0, .O2] {
                let g = Graph()
                let x = g.placeholder("x", shape: [6], dtype: dtype), y = g.placeholder("y", shape: [6], dtype: dtype)
                let outs = [bitwiseAnd(x, y), bitwiseOr(x, y), bitwiseXor(x, y), bitwiseNot(x), shiftLeft(x, y), shiftRight(x, y),
                            bitwiseAnd(-x, y) + x]   // fused with neighbours at O2
                let s = try Session(g, options: SessionOptions(level: level))
                let feeds = [x: try HostTensor(a, shape: [6]).converted(to: dtype), y: try HostTensor(b, shape: [6]).converted(to: dtype)]
                let r = try s.run(outs, feeds: feeds).map { try $0.converted(to: .int64).scalars(as: Int64.self) }
                let what = "\(dtype) \(level)"
                XCTAssertEqual(r[0], [8, 3, 0, 0, 0, 7], what)
                XCTAssertEqual(r[1], [14, -1, 5, -6, 41, -1], what)
                XCTAssertEqual(r[2], [6, -4, 5, -6, 41, -8], what)
                XCTAssertEqual(r[3], [-13, 0, -6, 7, -2, -8], what)
                // Logical shifts; counts outside 0 ..< width give 0 (40 is inside for int64).
                let wide = dtype == .int64
                let big: Int64 = wide ? 1 << 40 : 0
                XCTAssertEqual(r[4], [12288, -8, 5, -32, big, 0], what)
                let allOnesShifted: Int64 = wide ? 0x1FFF_FFFF_FFFF_FFFF : 0x1FFF_FFFF
                let minusEightShifted: Int64 = wide ? 0x3FFF_FFFF_FFFF_FFFE : 0x3FFF_FFFE
                XCTAssertEqual(r[5], [0, allOnesShifted, 5, minusEightShifted, 0, 0], what)
                let fused: [Int64] = [12 + (-12 & 10), -1 + (1 & 3), 5, -8 + (8 & 2), 1 + (-1 & 40), 7 + (-7 & -1)]
                XCTAssertEqual(r[6], fused, what)
            }
        }
        let g = Graph()
        _ = bitwiseAnd(g.placeholder("f", shape: [2]), g.placeholder("h", shape: [2]))
        XCTAssertThrowsError(try g.validate()) { e in XCTAssertTrue("\(e)".contains("bitwiseAnd needs integer inputs"), "\(e)") }
    }
}
