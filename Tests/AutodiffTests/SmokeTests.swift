import XCTest
final class AutodiffSmokeTests: XCTestCase { func testLoads() {} }
