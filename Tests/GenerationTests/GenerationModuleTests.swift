import Testing
@testable import Generation

@Test func GenerationModuleLinks() {
    #expect(Bool(true))
}
