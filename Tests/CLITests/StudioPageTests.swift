import Basics
import Foundation
import Testing

/// The studio's page as its users meet it: its JavaScript checked in node, and the whole page
/// driven in Debian's Chromium by Playwright for Python against `cadenza studio`
/// (Tests/StudioTests/browser/test_studio.py). Each skips, saying what to install, on a
/// machine without those tools; .ci/run installs them.
@Suite struct StudioPageTests {
    static let tests = CLI.repository.appendingPathComponent("Tests/StudioTests")

    static let hasNode = (try? Subprocess.run("node", ["--version"]).status) == 0
    static let hasBrowser =
        FileManager.default.isExecutableFile(
            atPath: ProcessInfo.processInfo.environment["CHROMIUM"] ?? "/usr/bin/chromium")
        && (try? Subprocess.run("python3", ["-c", "import playwright.sync_api"]).status) == 0

    @Test(.enabled(if: hasNode, "node is not installed: the page's script tests need Node 20"))
    func thePageScriptPassesItsOwnTests() throws {
        let unit = try Subprocess.run("node", ["--test", Self.tests.appendingPathComponent("web").path + "/"])
        #expect(unit.status == 0, "\(unit.outputText)\(String(decoding: unit.errors, as: UTF8.self))")
        let smoke = try Subprocess.run("node", [Self.tests.appendingPathComponent("web/page.smoke.js").path])
        #expect(smoke.status == 0 && smoke.outputText.contains("all checks passed"), "\(smoke.outputText)")
    }

    @Test(
        .enabled(
            if: hasBrowser,
            """
            the browser test needs Debian's chromium (apt-get install chromium) and Playwright for Python \
            (pip install playwright)
            """))
    func aMusicianCanGenerateHearRewriteAndDownload() throws {
        let outcome = try Subprocess.run(
            "python3", [Self.tests.appendingPathComponent("browser/test_studio.py").path],
            environment: ["CADENZA": CLI.binary.path])
        #expect(
            outcome.status == 0 && outcome.outputText.contains("studio browser test: passed"),
            "\(outcome.outputText)\n\(String(decoding: outcome.errors, as: UTF8.self))")
    }
}
