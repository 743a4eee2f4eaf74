import Foundation
import MIDI
import REMI

/// Whether a file a command left behind is complete: each kind of file is read back by the
/// reader of its format (or, for WAV and safetensors, its header is checked against its size).
enum OutputChecks {
    /// Hidden temporary files (`.NAME.partial-PID`) anywhere under `folder`: a half-written file.
    static func partialFiles(under folder: URL) -> [String] {
        CLI.files(in: folder).filter { ($0 as NSString).lastPathComponent.contains(".partial-") }
    }

    /// Files under `folder` (created after `since`, when given) that do not read back whole;
    /// each with the reason.
    static func incompleteFiles(under folder: URL, since: Date? = nil) -> [String] {
        var problems: [String] = []
        for relative in CLI.files(in: folder) {
            let url = folder.appendingPathComponent(relative)
            if let since,
                let modified = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate]
                    as? Date,
                modified < since
            {
                continue
            }
            if let problem = problem(with: url) { problems.append("\(relative): \(problem)") }
        }
        return problems
    }

    /// Why the file at `url` is not complete, or nil when it reads back (or is of a kind not
    /// checked, such as an input the test wrote on purpose broken).
    static func problem(with url: URL) -> String? {
        guard let data = try? Data(contentsOf: url) else { return "unreadable" }
        switch url.pathExtension.lowercased() {
        case "mid", "midi":
            // Inputs mutated on purpose are named *.bad.mid by the tests; outputs must read.
            if url.lastPathComponent.contains(".bad.") { return nil }
            return (try? MIDIFile(bytes: [UInt8](data))) == nil ? "MIDI does not parse" : nil
        case "remi":
            if url.lastPathComponent.contains(".bad.") { return nil }
            return (try? TokenFile(data: data)) == nil ? "token file does not parse" : nil
        case "json", "jsonl":
            if url.lastPathComponent.contains(".bad.") { return nil }
            let lines = url.pathExtension == "jsonl" ? data.split(separator: 0x0A).map { Data($0) } : [data]
            return lines.allSatisfy({ (try? JSONSerialization.jsonObject(with: $0)) != nil })
                ? nil : "JSON does not parse"
        case "wav":
            guard data.count >= 44, data.prefix(4) == Data("RIFF".utf8) else { return "no RIFF header" }
            let riff = readUInt32(data, 4), dataBytes = readUInt32(data, 40)
            return riff == data.count - 8 && dataBytes == data.count - 44 ? nil : "WAV sizes disagree with the file's"
        case "png":
            let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            guard data.count > 20, Array(data.prefix(8)) == signature else { return "no PNG signature" }
            return Array(data.suffix(8).prefix(4)) == Array("IEND".utf8) ? nil : "PNG does not end with IEND"
        case "safetensors":
            if url.lastPathComponent.contains(".bad.") { return nil }
            guard data.count >= 8 else { return "shorter than its header length" }
            let headerLength = Int(readUInt32(data, 0)) | Int(readUInt32(data, 4)) << 32
            guard headerLength >= 0, 8 + headerLength <= data.count,
                let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength)))
                    as? [String: Any]
            else { return "safetensors header does not parse" }
            let end =
                header.values.compactMap { ($0 as? [String: Any])?["data_offsets"] as? [Int] }.map { $0[1] }.max() ?? 0
            return 8 + headerLength + end == data.count ? nil : "safetensors data is cut short"
        default:
            return nil
        }
    }

    private static func readUInt32(_ data: Data, _ offset: Int) -> Int {
        (0..<4).reduce(0) { $0 | Int(data[data.startIndex + offset + $1]) << (8 * $1) }
    }
}
