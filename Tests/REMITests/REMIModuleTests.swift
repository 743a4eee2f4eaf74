import Testing
@testable import REMI

@Test func REMIModuleLinks() {
    #expect(Bool(true))
}
