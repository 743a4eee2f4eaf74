import Basics
import Dispatch
import Foundation

/// Many MIDI files at once: finding them under folders and reading them on several cores.
public enum MIDICorpus {
    /// The MIDI files named by `paths`: a folder is searched recursively for `.mid` / `.midi`
    /// (any case), in sorted order; a file (or a path that does not exist) is taken as given, so
    /// that reading it reports its own error. Hidden entries are skipped as `search` says.
    public static func files(in paths: [String]) -> [String] {
        paths.flatMap { path -> [String] in
            let found = search(folder: path)
            guard let found else { return [path] }
            return found.map { path.hasSuffix("/") ? path + $0 : path + "/" + $0 }
        }
    }

    /// True for a name ending in `.mid` or `.midi`, in any case.
    public static func isMIDIName(_ name: String) -> Bool {
        ["mid", "midi"].contains((name as NSString).pathExtension.lowercased())
    }

    /// The MIDI files under `folder`, as paths relative to it, sorted; nil when `folder` is not
    /// a folder. This is the one folder search of Cadenza (inspect, tokenize, train, metrics
    /// and eval all use it), so they agree on one rule: files and folders whose name starts
    /// with `.` are skipped, as shells and version control hide them. A hidden file named
    /// directly on the command line is still read.
    public static func search(folder: String) -> [String]? {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue,
            let walker = FileManager.default.enumerator(atPath: folder)
        else { return nil }
        var found: [String] = []
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if name.hasPrefix(".") {
                walker.skipDescendants()
                continue
            }
            if isMIDIName(name) { found.append(relative) }
        }
        return found.sorted()
    }

    /// Reads every file on `threads` threads and gives `transform`'s answer for each, in the
    /// order of `paths`. A file that fails does not stop the others.
    public static func readAll<T>(
        _ paths: [String], threads: Int = 2,
        _ transform: (String, Result<MIDIFile, MIDIError>) -> T
    ) -> [T] {
        map(paths.count, threads: threads) { i in
            let result: Result<MIDIFile, MIDIError>
            do {
                result = .success(try MIDIFile(contentsOfFile: paths[i]))
            } catch let error as MIDIError {
                result = .failure(error)
            } catch {
                result = .failure(.unreadable(path: paths[i], reason: "\(error)"))
            }
            return transform(paths[i], result)
        }
    }

    /// `body(0..<count)` on `threads` threads, each taking the next index when it is free;
    /// results in index order.
    public static func map<T>(_ count: Int, threads: Int, _ body: (Int) -> T) -> [T] {
        var results = [T?](repeating: nil, count: count)
        let lock = NSLock()
        var next = 0
        results.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress
            DispatchQueue.concurrentPerform(iterations: max(1, min(threads, count))) { _ in
                while true {
                    lock.lock()
                    let i = next
                    next += 1
                    lock.unlock()
                    guard i < count, let base else { return }
                    (base + i).pointee = body(i)  // each index is written by one thread only
                }
            }
        }
        return results.map { $0! }
    }
}

/// What `cadenza inspect` says about one file.
public struct MIDISummary: Sendable {
    /// The file's path as given or found.
    public var path: String
    /// The file read, or nil when it did not.
    public var file: MIDIFile?
    /// Why it did not read, or nil.
    public var error: MIDIError?

    /// A summary of a read or failed file.
    public init(path: String, result: Result<MIDIFile, MIDIError>) {
        self.path = path
        switch result {
        case .success(let file): self.file = file
        case .failure(let error): self.error = error
        }
    }

    /// Lowest and highest MIDI key played, drums aside (their keys name sounds, not pitches, as
    /// `cadenza metrics` reads them), or nil without such notes.
    public var pitchRange: ClosedRange<Int>? {
        guard let file else { return nil }
        var low = Int.max, high = Int.min
        for track in file.tracks where !track.isDrum {
            for note in track.notes where !note.isDrum {
                low = min(low, note.pitch)
                high = max(high, note.pitch)
            }
        }
        return low <= high ? low...high : nil
    }

    /// One JSON object, no newline: path, format, ticks_per_beat (null for SMPTE), tracks,
    /// notes, seconds, end_tick, tempo_changes, time_signatures, lowest_pitch, highest_pitch,
    /// error (null when the file read).
    public var jsonLine: String {
        func string(_ s: String) -> String { JSONKeys.quoted(s) }
        func number(_ n: Int?) -> String { n.map(String.init) ?? "null" }
        var fields: [(String, String)] = [("path", string(path))]
        fields.append(("format", number(file?.format.rawValue)))
        fields.append(("ticks_per_beat", number(file?.ticksPerBeat)))
        fields.append(("tracks", number(file?.tracks.count)))
        fields.append(("notes", number(file?.noteCount)))
        fields.append(("seconds", file.map { String($0.seconds) } ?? "null"))
        fields.append(("end_tick", number(file?.endTick)))
        fields.append(("tempo_changes", number(file?.tempoChanges.count)))
        fields.append(("time_signatures", number(file?.timeSignatures.count)))
        fields.append(("lowest_pitch", number(pitchRange?.lowerBound)))
        fields.append(("highest_pitch", number(pitchRange?.upperBound)))
        fields.append(("error", error.map { string($0.description) } ?? "null"))
        return "{" + fields.map { string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }

    /// A few readable lines: the path, then format, tracks, notes, duration, tempo and
    /// time-signature changes and pitch range; or the path and the error.
    public var text: String {
        guard let file else { return "\(path)\n  error: \(error?.description ?? "unknown")" }
        let division: String
        switch file.division {
        case .ticksPerBeat(let ppq): division = "\(ppq) ticks per beat"
        case .smpte(let fps, let tpf): division = "SMPTE \(fps) fps x \(tpf) ticks per frame"
        }
        let seconds = file.seconds
        let minutes = Int(seconds) / 60
        let rest = seconds - Double(minutes * 60)
        let duration = String(format: "%.2f s (%d:%05.2f)", seconds, minutes, rest)
        let tempos = file.tempoChanges
        var tempoText = "\(tempos.count) tempo change\(tempos.count == 1 ? "" : "s")"
        if let lo = tempos.map(\.bpm).min(), let hi = tempos.map(\.bpm).max() {
            tempoText += lo == hi ? String(format: " (%.1f bpm)", lo) : String(format: " (%.1f to %.1f bpm)", lo, hi)
        }
        let signatures = file.timeSignatures
        var signatureText = "\(signatures.count) time signature\(signatures.count == 1 ? "" : "s")"
        if !signatures.isEmpty {
            var seen: [String] = []
            for s in signatures where !seen.contains("\(s.numerator)/\(s.denominator)") {
                seen.append("\(s.numerator)/\(s.denominator)")
            }
            signatureText += " (" + seen.prefix(4).joined(separator: ", ") + (seen.count > 4 ? ", ..." : "") + ")"
        }
        let range =
            pitchRange.map {
                "pitch \($0.lowerBound)...\($0.upperBound) ("
                    + Self.noteName($0.lowerBound) + " to " + Self.noteName($0.upperBound) + ")"
            } ?? (file.noteCount > 0 ? "drums only" : "no notes")
        let drums = file.tracks.filter(\.isDrum).count
        let tracks =
            "\(file.tracks.count) track" + (file.tracks.count == 1 ? "" : "s") + (drums > 0 ? " (\(drums) drum)" : "")
        let notes = "\(file.noteCount) note" + (file.noteCount == 1 ? "" : "s")
        return """
            \(path)
              format \(file.format.rawValue), \(division), \(tracks), \(notes), \(duration)
              \(tempoText); \(signatureText); \(range)
            """
    }

    /// Scientific pitch name: 60 is C4.
    static func noteName(_ pitch: Int) -> String {
        let names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
        return names[pitch % 12] + String(pitch / 12 - 1)
    }
}
