import Testing
@testable import Evaluation

@Test func EvaluationModuleLinks() {
    #expect(Bool(true))
}
