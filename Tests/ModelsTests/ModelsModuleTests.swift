import Testing
@testable import Models

@Test func ModelsModuleLinks() {
    #expect(Bool(true))
}
