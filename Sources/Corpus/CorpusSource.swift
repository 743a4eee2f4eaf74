import Basics
import Foundation
import MIDI

/// Which part of the corpus a file belongs to.
public enum Split: String, Codable, CaseIterable, Sendable {
    /// Trained on (and the only split augmented).
    case train
    /// Measured at intervals during training; picks the best checkpoint.
    case validation
    /// Held out for the final evaluation.
    case test
}

/// A MIDI file of the corpus and its split.
public struct CorpusFile: Equatable, Sendable {
    /// Absolute path.
    public var path: String
    /// Path relative to the corpus root (what the hash split and reports use).
    public var relativePath: String
    /// The split.
    public var split: Split
    /// The piece's style when the corpus names one: a CSV's `style` column, else its
    /// `canonical_composer` (MAESTRO), as a token-safe name (`Chopin` gives `chopin`).
    public var style: String? = nil

    /// A style name as control tokens spell it: lowercase, spaces and `_` as `-`; nil when empty.
    public static func styleName(_ text: String) -> String? {
        let words = text.lowercased().split { $0.isWhitespace || $0 == "_" }
        return words.isEmpty ? nil : words.joined(separator: "-")
    }
}

/// Shares of the corpus that go to validation and test when the data does not say
/// (no CSV split column); the rest is training data.
public struct SplitRatios: Codable, Equatable, Sendable {
    /// Fraction for validation, in [0, 1).
    public var validation: Double
    /// Fraction for test, in [0, 1).
    public var test: Double

    /// Creates ratios; `validate()` checks them.
    public init(validation: Double = 0.1, test: Double = 0) {
        self.validation = validation
        self.test = test
    }

    /// Throws `CorpusError.invalidSplitRatios` unless both are >= 0 and sum below 1.
    public func validate() throws {
        guard validation >= 0, test >= 0, validation + test < 1 else {
            throw CorpusError.invalidSplitRatios(validation: validation, test: test)
        }
    }

    /// The split of the file at `relativePath`: FNV-1a of the path mapped to [0, 1), so the
    /// assignment is the same on every machine and does not move when files are added.
    public func split(of relativePath: String) -> Split {
        let u = Double(FNV1a.hash(Array(relativePath.utf8)) >> 11) / Double(1 << 53)
        if u < validation { return .validation }
        if u < validation + test { return .test }
        return .train
    }
}

/// How the corpus was described.
public enum CorpusLayout: String, Codable, Sendable {
    /// A folder searched recursively for .mid/.midi.
    case folder
    /// A text file listing paths, one per line.
    case list
    /// A MAESTRO-style CSV (`midi_filename`, optionally `split`).
    case csv
}

/// Finds the MIDI files of a corpus given as a folder, a list file or a MAESTRO-style CSV,
/// and assigns each a split.
public enum CorpusSource {
    /// The files at `path`, sorted by relative path, with the layout used.
    ///
    /// - A folder holding a top-level `.csv` with a `midi_filename` column (MAESTRO beside its
    ///   year folders, maestro-asap) is read through that CSV; any other folder is searched
    ///   recursively for `.mid`/`.midi` (hidden entries skipped).
    /// - A `.csv` file: `midi_filename` relative to the CSV's folder (or absolute); the `split`
    ///   column (`train`, `validation`, `test`) when present, else `ratios`.
    /// - Any other file: one path per line (relative to the list's folder, or absolute), `#`
    ///   comments and blank lines ignored; split by `ratios`.
    public static func files(at path: String, ratios: SplitRatios) throws -> (files: [CorpusFile], layout: CorpusLayout)
    {
        try ratios.validate()
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CorpusError.dataNotFound(path: path)
        }
        if isDirectory.boolValue {
            if let csv = try maestroCSV(in: url) { return (try readCSV(csv, ratios: ratios), .csv) }
            let files = try findMIDI(in: url, ratios: ratios)
            guard !files.isEmpty else { throw CorpusError.noMIDIFiles(path: path) }
            return (files, .folder)
        }
        if url.pathExtension.lowercased() == "csv" { return (try readCSV(url, ratios: ratios), .csv) }
        return (try readList(url, ratios: ratios), .list)
    }

    static func findMIDI(in root: URL, ratios: SplitRatios) throws -> [CorpusFile] {
        guard let found = MIDICorpus.search(folder: root.path) else { throw CorpusError.dataNotFound(path: root.path) }
        return found.map {
            CorpusFile(
                path: root.appendingPathComponent($0).standardizedFileURL.path, relativePath: $0,
                split: ratios.split(of: $0))
        }
    }

    static func maestroCSV(in folder: URL) throws -> URL? {
        let entries = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        for entry in entries.sorted(by: { $0.path < $1.path })
        where entry.pathExtension.lowercased() == "csv" && !entry.lastPathComponent.hasPrefix(".") {
            if let text = try? String(contentsOf: entry, encoding: .utf8),
                let header = CSV.rows(text.prefix { $0 != "\n" && $0 != "\r" }.description).first,
                header.contains("midi_filename")
            {
                return entry
            }
        }
        return nil
    }

    static func readCSV(_ url: URL, ratios: SplitRatios) throws -> [CorpusFile] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw CorpusError.dataNotFound(path: url.path)
        }
        let rows = CSV.rows(text)
        guard let header = rows.first else { throw CorpusError.emptyList(path: url.path) }
        guard let nameColumn = header.firstIndex(of: "midi_filename") else {
            throw CorpusError.missingColumn(path: url.path, column: "midi_filename")
        }
        let splitColumn = header.firstIndex(of: "split")
        let styleColumn = header.firstIndex(of: "style") ?? header.firstIndex(of: "canonical_composer")
        let root = url.deletingLastPathComponent()
        var files: [CorpusFile] = []
        for (index, row) in rows.dropFirst().enumerated() where !(row.count == 1 && row[0].isEmpty) {
            let line = index + 2
            guard row.count > nameColumn, !row[nameColumn].isEmpty else {
                throw CorpusError.malformedLine(path: url.path, line: line, reason: "no midi_filename value")
            }
            let relative = row[nameColumn]
            var split = ratios.split(of: relative)
            if let splitColumn {
                guard row.count > splitColumn, let s = Split(rawValue: row[splitColumn]) else {
                    let value = row.count > splitColumn ? row[splitColumn] : ""
                    throw CorpusError.malformedLine(
                        path: url.path, line: line,
                        reason: "split '\(value)' is not train, validation or test")
                }
                split = s
            }
            // An absolute path is taken as it is, as in a list file.
            let full = relative.hasPrefix("/") ? URL(fileURLWithPath: relative) : root.appendingPathComponent(relative)
            files.append(
                CorpusFile(
                    path: full.standardizedFileURL.path,
                    relativePath: relative, split: split,
                    style: styleColumn.flatMap { row.count > $0 ? CorpusFile.styleName(row[$0]) : nil }))
        }
        guard !files.isEmpty else { throw CorpusError.emptyList(path: url.path) }
        return files
    }

    static func readList(_ url: URL, ratios: SplitRatios) throws -> [CorpusFile] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw CorpusError.malformedLine(
                path: url.path, line: 1,
                reason: "not a UTF-8 text list of paths (give a folder, a .csv or a list file)")
        }
        let root = url.deletingLastPathComponent()
        var files: [CorpusFile] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let full = line.hasPrefix("/") ? URL(fileURLWithPath: line) : root.appendingPathComponent(line)
            files.append(
                CorpusFile(path: full.standardizedFileURL.path, relativePath: line, split: ratios.split(of: line)))
        }
        guard !files.isEmpty else { throw CorpusError.emptyList(path: url.path) }
        return files
    }
}

/// RFC 4180 CSV: fields separated by commas, quoted with `"` when they hold commas, quotes
/// (doubled) or line breaks. Enough for MAESTRO's metadata, whose titles contain commas.
enum CSV {
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = ""
        var quoted = false, afterQuote = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = next() {
            if quoted {
                if c == "\"" {
                    if let n = iterator.next() {
                        if n == "\"" {
                            field.unicodeScalars.append("\"")
                        } else {
                            quoted = false; afterQuote = true; pending = n
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty && !afterQuote: quoted = true
            case ",": row.append(field); field = ""; afterQuote = false
            case "\r": break
            case "\n": row.append(field); rows.append(row); row = []; field = ""; afterQuote = false
            default: field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}
