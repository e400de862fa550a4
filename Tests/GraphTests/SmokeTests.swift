import XCTest
@testable import Graph
final class GraphSmokeTests: XCTestCase { func testLoads() {} }
