import Corpus
import ArgumentParser
import Basics
import Foundation
import MIDI
import Models
import Tensor
import Training

/// `--threads`, shared by every command that computes: the kernels' thread count.
struct ThreadOptions: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help: "Threads for the kernels (default: CADENZA_THREADS when set, else all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, !(1...GEMM.maximumThreads).contains(threads) {
            throw ValidationError("--threads must be 1...\(GEMM.maximumThreads), got \(threads)")
        }
    }

    /// Sets the thread count, after refusing a malformed `CADENZA_THREADS` or `CADENZA_GEMM`.
    func apply() throws {
        if let problem = GEMM.environmentProblem { throw CommandFailure(problem.description) }
        if let threads { try GEMM.setThreadCount(threads) }
    }
}

/// `--validation-ratio` and `--test-ratio`, shared by the commands that split a corpus
/// without a split column (`train`, `eval`, `metrics`), with one meaning everywhere.
struct SplitRatioOptions: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help:
            "Share of files for validation when the data has no split column (default: 0.1; eval of a training run: the run's)."
    )
    var validationRatio: Double?

    @Option(
        parsing: .unconditional,
        help:
            "Share of files for test when the data has no split column (default: 0; eval of a training run: the run's)."
    )
    var testRatio: Double?

    func validate() throws {
        for (flag, value) in [("--validation-ratio", validationRatio), ("--test-ratio", testRatio)] {
            if let value, !(value >= 0 && value < 1) {
                throw ValidationError("\(flag) must be at least 0 and below 1, got \(value)")
            }
        }
        if let validation = validationRatio, let test = testRatio, !(validation + test < 1) {
            throw ValidationError(
                "--validation-ratio \(validation) and --test-ratio \(test) leave no files for training: "
                    + "their sum must be below 1")
        }
    }

    /// The ratios, each taken from `defaults` where not given.
    func ratios(defaults: SplitRatios = SplitRatios()) -> SplitRatios {
        SplitRatios(validation: validationRatio ?? defaults.validation, test: testRatio ?? defaults.test)
    }
}

/// Refuses an output that is the same file, by any path, as one of `inputs` or an earlier
/// output (each named in the message as the user gave it, as "--out", with its path; nil where
/// not given): writing it would replace an input before the user has it back, or another output.
func checkOutputs(_ outputs: [(name: String, path: String?)], notAnyOf inputs: [(name: String, path: String?)]) throws {
    var isFolder: ObjCBool = false
    func given(_ files: [(name: String, path: String?)]) -> [(name: String, path: String)] {
        files.compactMap { file in file.path.map { (name: file.name, path: $0) } }.filter {
            // A folder (generate --count's output) holds files; it never replaces one.
            !(FileManager.default.fileExists(atPath: $0.path, isDirectory: &isFolder) && isFolder.boolValue)
        }
    }
    var earlier = given(inputs)
    for output in given(outputs) {
        if let same = earlier.first(where: { OutputPath.isSameFile($0.path, output.path) }) {
            throw ValidationError(
                "\(output.name) \(output.path) is the same file as \(same.name): writing it would replace that file; "
                    + "choose another name")
        }
        earlier.append(output)
    }
}

/// The MIDI file at `path`, whose reading errors name it (and `flag`, the option that gave it,
/// where there is one): the reader's own messages say only where in the bytes.
func readMIDI(_ path: String, for flag: String? = nil) throws -> MIDIFile {
    do { return try MIDIFile(contentsOf: URL(fileURLWithPath: path)) } catch let error as MIDIError {
        if case .unreadable = error { throw error }  // already names the path
        throw CommandFailure((flag.map { "\($0) " } ?? "") + "\(path): \(error)")
    }
}

/// The model config in the JSON file `path` (`--config`), its errors naming the flag and file.
func readModelConfig(_ path: String) throws -> ModelConfig {
    let json = try FileContents.data(at: URL(fileURLWithPath: path))
    do { return try ModelConfig.decode(json: json, source: path) } catch let error as ModelConfigError {
        throw CommandFailure("--config \(path): \(error)")
    }
}

/// A failure found while a command runs (not in its flags): printed as one `Error:` line,
/// without the usage text, and the command exits with status 1.
struct CommandFailure: Error, CustomStringConvertible {
    /// What went wrong, in one sentence.
    var description: String
    init(_ description: String) { self.description = description }
}

extension DecoderMatrix.Precision: ExpressibleByArgument {}
extension GEMM.Precision: ExpressibleByArgument {}

extension ModelKind: ExpressibleByArgument {
    /// The model's name on the command line: `txl` or `gpt2`; the long names `transformer-xl`
    /// and `gpt-2` are accepted too, so that every command takes both spellings.
    public init?(argument: String) {
        switch argument.lowercased() {
        case "txl", "transformer-xl", "transformerxl": self = .transformerXL
        case "gpt2", "gpt-2": self = .gpt2
        default: return nil
        }
    }

    /// The short names, shown in help texts.
    public static var allValueStrings: [String] { ["txl", "gpt2"] }

    /// What each short name stands for, in help texts.
    public static var allValueDescriptions: [String: String] { ["txl": "Transformer-XL", "gpt2": "GPT-2"] }

    /// The short name: `txl` or `gpt2`.
    var argumentName: String { self == .transformerXL ? "txl" : "gpt2" }

}

extension Int {
    /// "1 stream", "2 streams": this count with `noun`, plural when it is not 1.
    func counted(_ noun: String, plural: String? = nil) -> String {
        "\(self) \(self == 1 ? noun : plural ?? noun + "s")"
    }
}

extension ModelConfig {
    /// Refuses this model with `batch` streams when a forward and backward pass would need more
    /// memory than the machine has, before anything is tokenized or allocated (docs/limits.md).
    /// `train` and `eval` check it; scoring keeps no gradients, so for `eval` it is an upper bound.
    func checkFitsInMemory(batch: Int) throws {
        let needed = trainingMemoryEstimate(batch: batch)
        let available = Double(ProcessInfo.processInfo.physicalMemory)
        guard needed <= 0.8 * available else {
            throw ValidationError(
                String(
                    format: "training this model with --batch %d and a segment of %d tokens needs about "
                        + "%.1f GB, more than this machine's %.1f GB: lower --batch, --seg-len or --mem-len",
                    batch, segmentLength, needed / 1e9, available / 1e9))
        }
    }
}
