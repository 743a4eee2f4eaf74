import Foundation
import MIDI
import Testing
@testable import REMI

/// Instruments and metres (docs/remi.md, "Instruments and meters"): each note's part and each
/// bar's metre survive a round trip exactly, and any ids decode to a valid multi-track file.
@Suite struct InstrumentTests {
    /// Every part a file may have, every metre bars follow.
    static func config(roles: [String] = ["MELODY", "BRIDGE", "PIANO"]) -> TokenizerConfig {
        TokenizerConfig.arrangement(trackRoles: roles)
    }

    @Test func theSeedVocabularyIsUnchangedAndTheNewTokensComeAfterIt() throws {
        let seed = try Vocabulary()
        let v = try Vocabulary(config: Self.config())
        #expect(Array(v.events.prefix(seed.count)) == seed.events)
        // 112 longer-bar positions, 64 metres, 128 programs, drums and 3 roles.
        #expect(v.count == seed.count + 112 + 64 + 128 + 1 + 3)
        #expect(v.name(of: .instrument(128)) == "Instrument_Drums")
        #expect(v.name(of: .instrument(130)) == "Instrument_BRIDGE")
        #expect(v.name(of: .instrument(33)) == "Instrument_33")
        #expect(v.name(of: .timeSignature(numerator: 6, denominator: 8)) == "Time Signature_6/8")
        #expect(v.name(of: .position(20)) == "Position_21/16")
        #expect(v.id(for: .timeSignature(numerator: 17, denominator: 8)) == nil)
        #expect(v.id(for: .timeSignature(numerator: 3, denominator: 3)) == nil)
        #expect(seed.id(for: .instrument(0)) == nil)
        // The config JSON records the options, and so the fingerprint tells the two apart.
        let json = String(decoding: try Self.config().jsonData(), as: UTF8.self)
        #expect(json.contains("\"trackRoles\"") && json.contains("\"follow\"") && json.contains("\"instruments\""))
        #expect(!String(decoding: try TokenizerConfig().jsonData(), as: UTF8.self).contains("trackRoles"))
        #expect(v.fingerprint != seed.fingerprint)
        var rolesElsewhere = TokenizerConfig()
        rolesElsewhere.trackRoles = ["MELODY"]
        #expect(throws: REMIError.self) { try rolesElsewhere.validate() }
    }

    /// A waltz bar then a 6/8 bar: bass (program 33) and drums, with a piano melody on a role.
    @Test func partsAndMetresAreWrittenWhereTheyChange() throws {
        let tokenizer = try REMITokenizer(config: Self.config())
        var melody = Track(name: "Melody", notes: [Note(start: 0, end: 480, pitch: 72, velocity: 80)])
        melody.notes.append(Note(start: 1440, end: 1680, pitch: 74, velocity: 80))
        let bass = Track(
            name: "Bass", notes: [Note(start: 0, end: 960, pitch: 40, velocity: 90, channel: 2)],
            programChanges: [ProgramChange(tick: 0, program: 33, channel: 2)])
        let drums = Track(
            name: "Kit", notes: [Note(start: 240, end: 300, pitch: 36, velocity: 100, channel: 9)], isDrum: true)
        let file = MIDIFile(
            division: .ticksPerBeat(480), tracks: [melody, bass, drums],
            timeSignatures: [
                TimeSignature(tick: 0, numerator: 3, denominator: 4),
                TimeSignature(tick: 1440, numerator: 6, denominator: 8),
            ])
        let events = try tokenizer.encode(file)
        // Bars, metres and notes (with their positions); chords and tempos left out.
        let notesAndParts = events.indices.filter { i in
            switch events[i] {
            case .bar, .timeSignature, .instrument, .noteOn: return true
            case .position: return i + 1 < events.count && events[i + 1].isInstrument
            default: return false
            }
        }.map { events[$0] }
        #expect(
            notesAndParts == [
                .bar, .timeSignature(numerator: 3, denominator: 4), .position(0), .instrument(33), .noteOn(40),
                .position(0), .instrument(129), .noteOn(72), .position(2), .instrument(128), .noteOn(36),
                .bar, .timeSignature(numerator: 6, denominator: 8), .position(0), .instrument(129), .noteOn(74),
            ])
        let decoded = tokenizer.decode(events)
        #expect(decoded.tracks.map(\.name) == ["MELODY", "Electric Bass (finger)", "Drums"])
        #expect(decoded.tracks.map { $0.notes.count } == [2, 1, 1])
        #expect(decoded.tracks[1].programChanges.map(\.program) == [33])
        #expect(decoded.tracks[2].isDrum && decoded.tracks[2].notes[0].channel == 9)
        #expect(Set(decoded.tracks.flatMap { $0.notes.map(\.channel) }).count == 3)
        #expect(
            decoded.timeSignatures.map { [$0.tick, $0.numerator, $0.denominator] } == [[0, 3, 4], [1440, 6, 8]])
        let back = try MIDIFile(bytes: try decoded.encoded())
        #expect(back.tracks.filter { !$0.notes.isEmpty }.count == 3)
    }

    @Test func aMetreNoTokenNamesIsRefusedByName() throws {
        let tokenizer = try REMITokenizer(config: Self.config())
        let file = MIDIFile(
            tracks: [Track(notes: [Note(start: 0, end: 10, pitch: 60, velocity: 9)])],
            timeSignatures: [TimeSignature(tick: 0, numerator: 5, denominator: 32)])
        #expect(throws: REMIError.unsupportedTimeSignature(tick: 0, numerator: 5, denominator: 32)) {
            try tokenizer.encode(file)
        }
        #expect("\(REMIError.unsupportedTimeSignature(tick: 0, numerator: 5, denominator: 32))".contains("5/32"))
    }

    /// Random arrangements: up to five parts (programs, drums, a role), metres changing at bar
    /// lines, any division.
    static func randomArrangement(_ rng: inout SplitMix) -> MIDIFile {
        let division = [96, 120, 384, 480, 960].randomElement(using: &rng)!
        let meters = [(4, 4), (3, 4), (6, 8), (2, 4), (1, 4), (2, 2), (7, 8), (5, 16), (12, 8), (16, 2)]
        var signatures: [TimeSignature] = []
        var tick = 0
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let (n, d) = meters.randomElement(using: &rng)!
            if signatures.last.map({ $0.numerator != n || $0.denominator != d }) ?? true {
                signatures.append(TimeSignature(tick: tick, numerator: n, denominator: d))
            }
            tick += Int.random(in: 1...6, using: &rng) * n * division * 4 / d
        }
        let span = tick
        var tracks: [Track] = []
        for t in 0..<Int.random(in: 1...5, using: &rng) {
            let drum = t == 4 || Int.random(in: 0..<5, using: &rng) == 0
            let channel = drum ? 9 : t
            let program = Int.random(in: 0...127, using: &rng)
            let notes = (0..<Int.random(in: 0...60, using: &rng)).map { _ -> Note in
                let start = Int.random(in: 0..<span, using: &rng)
                return Note(
                    start: start, end: start + Int.random(in: 0...(2 * division), using: &rng),
                    pitch: Int.random(in: 0...127, using: &rng), velocity: Int.random(in: 1...127, using: &rng),
                    channel: channel)
            }.sorted { ($0.start, $0.pitch) < ($1.start, $1.pitch) }
            tracks.append(
                Track(
                    name: t == 0 ? "melody" : "part \(t)", notes: notes,
                    programChanges: drum ? [] : [ProgramChange(tick: 0, program: program, channel: channel)],
                    isDrum: drum))
        }
        return MIDIFile(division: .ticksPerBeat(division), tracks: tracks, timeSignatures: signatures)
    }

    @Test func generatedArrangementsRoundTripWithPartsAndMetresExact() throws {
        let tokenizer = try REMITokenizer(config: Self.config(roles: ["MELODY"]))
        var rng = SplitMix(seed: 1212)
        var total = RoundTripReport()
        for trial in 0..<300 {
            let file = Self.randomArrangement(&rng)
            let (report, decoded) = try tokenizer.roundTrip(file)
            if !report.withinBounds {
                Issue.record("trial \(trial): \(report) \(file.timeSignatures) \(decoded.timeSignatures)")
                break
            }
            _ = try MIDIFile(bytes: try decoded.encoded())
            total.add(report)
        }
        #expect(total.withinBounds)
        #expect(total.notesIn > 10_000)
    }

    @Test func randomIDsDecodeToValidMultiTrackFiles() throws {
        let tokenizer = try REMITokenizer(config: Self.config())
        var rng = SplitMix(seed: 77)
        let count = tokenizer.vocabulary.count
        var notes = 0, tracks = 0
        for trial in 0..<3_000 {
            let ids = (0..<Int.random(in: 0...300, using: &rng)).map { _ in Int.random(in: 0..<count, using: &rng) }
            let file = tokenizer.decode(ids: ids)
            notes += file.noteCount
            tracks += file.tracks.count
            #expect(
                file.timeSignatures.allSatisfy {
                    TokenizerConfig.isSupportedMeter(numerator: $0.numerator, denominator: $0.denominator)
                })
            do {
                let back = try MIDIFile(bytes: try file.encoded())
                #expect(back.noteCount == file.noteCount, "trial \(trial)")
            } catch {
                Issue.record("trial \(trial): \(error)")
                return
            }
        }
        #expect(notes > 5_000 && tracks > 3_000 * 2)
    }
}

extension REMIEvent {
    fileprivate var isInstrument: Bool { if case .instrument = self { true } else { false } }
}

/// General MIDI arrangements with drums from outside this project (docs/tokenizer-roundtrip.md
/// says where to get them): the folder `CADENZA_MULTITRACK_MIDI` names, skipped when unset.
@Suite struct MultiTrackCorpusTests {
    static let folder = ProcessInfo.processInfo.environment["CADENZA_MULTITRACK_MIDI"].map {
        URL(fileURLWithPath: $0)
    }
    static var isPresent: Bool { folder.map { !SharedData.midiFiles(under: $0).isEmpty } ?? false }

    @Test(.enabled(if: isPresent, "CADENZA_MULTITRACK_MIDI names no folder of MIDI files"))
    func generalMIDIArrangementsRoundTripWithEveryPart() throws {
        let tokenizer = try REMITokenizer(config: InstrumentTests.config(roles: []))
        var total = RoundTripReport()
        var parts = Set<Int>()
        for url in SharedData.midiFiles(under: Self.folder!) {
            let file = try MIDIFile(contentsOf: url)
            let (report, decoded) = try tokenizer.roundTrip(file)
            #expect(report.withinBounds, "\(url.lastPathComponent): \(report)")
            _ = try MIDIFile(bytes: try decoded.encoded())
            parts.formUnion(decoded.tracks.map(tokenizer.part(of:)))
            total.add(report)
        }
        print(CorpusTests.summary("multi-track General MIDI", total))
        print("  parts: \(parts.sorted())")
        #expect(parts.contains(TokenizerConfig.drumsInstrument) && parts.count > 10)
    }
}
