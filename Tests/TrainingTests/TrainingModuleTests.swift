import Testing
@testable import Training

@Test func TrainingModuleLinks() {
    #expect(Bool(true))
}
