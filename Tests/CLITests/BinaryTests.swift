import Foundation
import Testing

/// The binary the command-line tests run is there and answers.
@Suite struct BinaryTests {
    @Test func theBinaryRunsAndPrintsItsVersion() throws {
        let outcome = try CLI.run(["--version"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.stdout.hasPrefix("0."), "\(outcome)")
    }
}
