import MIDI

/// The REMI tokenizer: MIDI file to events and ids (`Encoder.swift`), ids and events back to a
/// MIDI file (`Decoder.swift`), with one config and the vocabulary derived from it.
public struct REMITokenizer: Sendable {
    /// Every choice the tokenizer makes.
    public let config: TokenizerConfig
    /// The id of every event.
    public let vocabulary: Vocabulary

    /// A tokenizer for `config`; throws `REMIError.invalidConfig` when the config is bad.
    public init(config: TokenizerConfig = TokenizerConfig()) throws {
        self.config = config
        self.vocabulary = try Vocabulary(config: config)
    }

    /// A tokenizer using a saved vocabulary (and the config saved in it).
    public init(vocabulary: Vocabulary) {
        self.config = vocabulary.config
        self.vocabulary = vocabulary
    }

    /// The events of `file` as ids, followed by the end-of-piece id.
    public func tokenize(_ file: MIDIFile) throws -> [Int] {
        let events = try encode(file)
        var ids: [Int] = []
        ids.reserveCapacity(events.count + 1)
        // Every event the encoder writes is inside the config's event space.
        for event in events { if let id = vocabulary.id(for: event) { ids.append(id) } }
        ids.append(vocabulary.endOfPieceID)
        return ids
    }

    /// The readable dump in the seed's style: `Bar` on a line of its own, and each item on a
    /// line that starts with its `Position` (`Position 9/16, Note Velocity 13, Note On 59,
    /// Note Duration 9`). Special tokens stand on lines of their own.
    public func dump(_ events: [REMIEvent]) -> String {
        var lines: [String] = []
        var line: [String] = []
        func flush() {
            if !line.isEmpty { lines.append(line.joined(separator: ", ")) }
            line = []
        }
        for event in events {
            switch event {
            case .bar, .padding, .startOfPiece, .endOfPiece, .style, .key, .density, .fillSuffix, .fillMiddle, .fillEnd:
                flush()
                lines.append(vocabulary.readableName(of: event))
            case .position:
                flush()
                line.append(vocabulary.readableName(of: event))
            default:
                line.append(vocabulary.readableName(of: event))
            }
        }
        flush()
        return lines.joined(separator: "\n")
    }

    /// The dump of a sequence of ids (ids outside the vocabulary print as `Unknown <id>`).
    public func dump(ids: [Int]) -> String {
        var text: [String] = []
        var run: [REMIEvent] = []
        for id in ids {
            if let event = vocabulary.event(for: id) {
                run.append(event)
            } else {
                if !run.isEmpty { text.append(dump(run)); run = [] }
                text.append("Unknown \(id)")
            }
        }
        if !run.isEmpty { text.append(dump(run)) }
        return text.joined(separator: "\n")
    }
}
