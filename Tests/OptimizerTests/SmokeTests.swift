import XCTest
@testable import Optimizer
final class OptimizerSmokeTests: XCTestCase { func testLoads() {} }
