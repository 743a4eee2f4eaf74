import Foundation

/// Why a set of MIDI files could not be gathered.
public enum MIDICollectionError: Error, Equatable, CustomStringConvertible {
    /// The path does not exist.
    case notFound(path: String)
    /// A folder or list held no .mid / .midi file.
    case noMIDIFiles(path: String)
    /// A MAESTRO-style CSV lacks the `midi_filename` column (or `split`, when a split is asked).
    case badCSV(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "\(p): no such file or folder"
        case .noMIDIFiles(let p): return "\(p): no .mid or .midi files found"
        case .badCSV(let p, let reason): return "\(p): \(reason)"
        }
    }
}

/// Turns what a user names on the command line into a list of MIDI files: a MIDI file itself,
/// a folder (searched recursively, files sorted by path), or a MAESTRO-style CSV
/// (`midi_filename` relative to the CSV's folder, optionally filtered by its `split` column).
public enum MIDICollection {
    /// True for names ending in .mid or .midi, in any case.
    static func isMIDI(_ url: URL) -> Bool { ["mid", "midi"].contains(url.pathExtension.lowercased()) }

    /// The MIDI files named by `paths`, in the order given (folders expanded in sorted order).
    public static func files(_ paths: [String], split: String? = nil) throws -> [URL] {
        var result: [URL] = []
        let fileManager = FileManager.default
        for path in paths {
            let url = URL(fileURLWithPath: path)
            var isFolder: ObjCBool = false
            guard fileManager.fileExists(atPath: url.path, isDirectory: &isFolder) else {
                throw MIDICollectionError.notFound(path: path)
            }
            if isFolder.boolValue {
                let found = (fileManager.enumerator(at: url, includingPropertiesForKeys: nil)?
                    .compactMap { $0 as? URL }.filter(isMIDI) ?? [])
                    .sorted { $0.path < $1.path }
                guard !found.isEmpty else { throw MIDICollectionError.noMIDIFiles(path: path) }
                result += found
            } else if url.pathExtension.lowercased() == "csv" {
                result += try csvFiles(url, split: split)
            } else {
                result.append(url)
            }
        }
        return result
    }

    /// Rows of a MAESTRO-style metadata CSV (quoted fields may hold commas).
    private static func csvFiles(_ url: URL, split: String?) throws -> [URL] {
        let text = try String(contentsOf: url, encoding: .utf8)
        let rows = text.split(whereSeparator: \.isNewline).map(parseCSVLine)
        guard let header = rows.first, let fileColumn = header.firstIndex(of: "midi_filename") else {
            throw MIDICollectionError.badCSV(path: url.path, reason: "no midi_filename column")
        }
        let splitColumn = header.firstIndex(of: "split")
        if split != nil && splitColumn == nil {
            throw MIDICollectionError.badCSV(path: url.path, reason: "no split column to filter by")
        }
        let folder = url.deletingLastPathComponent()
        let files = rows.dropFirst().filter { row in
            guard row.count > fileColumn else { return false }
            guard let split, let splitColumn else { return true }
            return row.count > splitColumn && row[splitColumn] == split
        }.map { folder.appendingPathComponent($0[fileColumn]) }
        guard !files.isEmpty else { throw MIDICollectionError.noMIDIFiles(path: url.path) }
        return files
    }

    /// Splits one CSV line into fields (RFC 4180 quoting, "" inside quotes is a quote).
    static func parseCSVLine<S: StringProtocol>(_ line: S) -> [String] {
        var fields: [String] = [], field = "", quoted = false
        var iterator = line.makeIterator()
        while let c = iterator.next() {
            if quoted {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { field.append("\"") } else {
                            quoted = false
                            if next == "," { fields.append(field); field = "" } else { field.append(next) }
                        }
                    } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" { quoted = true
            } else if c == "," { fields.append(field); field = ""
            } else { field.append(c) }
        }
        fields.append(field)
        return fields
    }
}
