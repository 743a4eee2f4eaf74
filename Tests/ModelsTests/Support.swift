import Foundation
import Testing
import Tensor

/// `../shared/data/reference/<name>` beside the package root, or nil when absent.
func referenceDirectory(_ name: String) -> String? {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let dir = root.deletingLastPathComponent().appendingPathComponent("shared/data/reference/\(name)").path
    return FileManager.default.fileExists(atPath: dir) ? dir : nil
}

/// Reads a JSON object from a file.
func jsonObject(_ path: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// Expects `actual` to match `expected` elementwise within `absolute` or `relative` tolerance,
/// reporting the worst element.
func expectClose(
    _ actual: [Float], _ expected: [Float], absolute: Float = 1e-4, relative: Float = 0,
    _ what: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var worst: (index: Int, error: Float) = (0, 0)
    var failures = 0
    for i in 0..<actual.count {
        let error = abs(actual[i] - expected[i])
        if !(error <= absolute || error <= relative * abs(expected[i])) { failures += 1 }
        if !(error <= worst.error) { worst = (i, error) }
    }
    #expect(
        failures == 0,
        Comment(
            rawValue: "\(what): \(failures) of \(actual.count) outside tolerance; worst at \(worst.index): "
                + "\(actual[worst.index]) vs \(expected[worst.index])"),
        sourceLocation: sourceLocation)
}

/// Rows `range` of every stream of a [B, T, D] tensor, flattened.
func rows(_ t: Tensor, _ range: Range<Int>) -> [Float] {
    let (B, T, D) = (t.shape[0], t.shape[1], t.shape[2])
    var out: [Float] = []
    for b in 0..<B { for r in range { out += (0..<D).map { t[(b * T + r) * D + $0] } } }
    _ = T
    return out
}
