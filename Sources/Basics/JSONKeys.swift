import Foundation

/// A JSON settings file that names a key Cadenza does not know: a misspelt key would
/// otherwise be ignored without a word, and its default used in silence.
public struct UnknownKeyError: Error, Equatable, CustomStringConvertible {
    /// The file or kind of settings read.
    public var source: String
    /// The key that is not known.
    public var key: String
    /// The known key closest to it, if one is close.
    public var suggestion: String?
    /// Every key `source` knows, listed when none is close (empty: not listed).
    public var knownKeys: [String]

    /// The error for `key` in `source`, suggesting `suggestion`, else listing `knownKeys`.
    public init(source: String, key: String, suggestion: String?, knownKeys: [String] = []) {
        self.source = source
        self.key = key
        self.suggestion = suggestion
        self.knownKeys = knownKeys
    }

    /// One line naming the key and the nearest valid one, or the valid ones when none is near.
    public var description: String {
        let help =
            suggestion.map { " (did you mean '\($0)'?)" }
            ?? (knownKeys.isEmpty ? "" : " (the keys are \(knownKeys.sorted().joined(separator: ", ")))")
        return "\(source): unknown key '\(key)'" + help
    }
}

/// Checks of the keys in JSON settings files.
public enum JSONKeys {
    /// Throws `UnknownKeyError` for the first top-level key of the JSON object in `data` that
    /// is not in `known`. Data that is not a JSON object is left to the decoder to reject.
    public static func requireKnown(_ data: Data, known: [String], source: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
        for key in object.keys.sorted() where !known.contains(key) {
            throw UnknownKeyError(source: source, key: key, suggestion: nearest(to: key, in: known), knownKeys: known)
        }
    }

    /// The candidate closest to `word` by edit distance, ignoring case and `_`/`-`, when it is
    /// close enough to be a likely misspelling (at most a third of its letters differ).
    public static func nearest(to word: String, in candidates: [String]) -> String? {
        func folded(_ s: String) -> [Character] { Array(s.lowercased().filter { $0 != "_" && $0 != "-" }) }
        let target = folded(word)
        let scored = candidates.map { ($0, editDistance(target, folded($0))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= max(2, target.count / 3) ? best.0 : nil
    }

    /// Levenshtein distance: insertions, deletions and substitutions each cost 1.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, cb) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension JSONKeys {
    /// A decoding error in plain words: "missing key 'n_layer'", "'d_model' should be a
    /// number", "not valid JSON" (instead of the decoder's debug dump).
    public static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let .keyNotFound(key, _):
            return "missing key '\(key.stringValue)'"
        case let .typeMismatch(type, context), let .valueNotFound(type, context):
            let place = path(context)
            return place.isEmpty ? "not a JSON object" : "'\(place)' should be \(typeName(type))"
        case let .dataCorrupted(context):
            let place = path(context)
            return place.isEmpty ? "not valid JSON" : "'\(place)' has a value that is not allowed"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Double.Type, is Float.Type, is UInt64.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default: return "a \(type)"
        }
    }
}

extension JSONKeys {
    /// `text` as a JSON string literal, quotes included (RFC 8259, section 7): for the few
    /// places that write JSON by hand to fix its key order or layout.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
