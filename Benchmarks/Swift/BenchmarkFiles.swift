import Foundation

/// Where the benchmarks' baseline scripts are: in `Benchmarks/`, beside these sources, found
/// from this file's own path, so that a benchmark runs from any working folder.
enum BenchmarkFiles {
    /// The path of `name` in the `Benchmarks` folder.
    static func script(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(name).path
    }
}
