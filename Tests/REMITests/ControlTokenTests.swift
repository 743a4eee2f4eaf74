import Foundation
import MIDI
import Testing

@testable import REMI

/// The control tokens (docs/control.md): off by default, appended after the REMI ids when on.
struct ControlTokenTests {
    static func controlled(styles: [String] = ["bach", "chopin"]) throws -> REMITokenizer {
        var config = TokenizerConfig()
        config.controls = true
        config.styles = styles
        return try REMITokenizer(config: config)
    }

    /// A piece of `bars` bars, one C-major arpeggio note per beat (480 ticks per beat).
    static func piece(bars: Int, pitches: [Int] = [60, 64, 67, 72]) -> MIDIFile {
        let notes = (0..<(bars * 4)).map { beat in
            Note(start: beat * 480, end: beat * 480 + 400, pitch: pitches[beat % pitches.count], velocity: 80)
        }
        return MIDIFile(
            format: .multiTrack, division: .ticksPerBeat(480),
            tracks: [Track(name: "Piano", notes: notes, endTick: bars * 1920)])
    }

    @Test func theSeedsVocabularyIsUnchangedWithoutControls() throws {
        let plain = try Vocabulary()
        #expect(plain.count == 368)
        let json = String(decoding: try plain.jsonData(), as: UTF8.self)
        #expect(!json.contains("controls") && !json.contains("styles") && !json.contains("densityThresholds"))
        #expect(plain.id(for: .style(0)) == nil && plain.id(for: .fillSuffix) == nil && plain.id(for: .key(0)) == nil)
    }

    @Test func controlTokensFollowTheREMIIdsInADocumentedOrder() throws {
        let tokenizer = try Self.controlled()
        let v = tokenizer.vocabulary, plain = try Vocabulary()
        #expect(v.count == 368 + 2 + 24 + 3 + 3)
        #expect(Array(v.events.prefix(368)) == plain.events)
        #expect(v.id(for: .style(0)) == 368 && v.id(for: .style(1)) == 369)
        #expect(v.name(of: .style(1)) == "Style_chopin")
        #expect(v.name(of: .key(MusicalKey(tonic: 9, isMinor: true).index)) == "Key_A:min")
        #expect(v.name(of: .density(2)) == "Density_dense")
        #expect(v.id(for: .fillEnd) == v.count - 1)
        #expect(v.name(of: .fillSuffix) == "Infill_Suffix")
        #expect(v.styleID(named: "Chopin") == 369 && v.styleID(named: "liszt") == nil)
        // Saved and read back as the same vocabulary, and its fingerprint is not the plain one.
        let back = try Vocabulary.load(jsonData: try v.jsonData())
        #expect(back == v && back.fingerprint == v.fingerprint && v.fingerprint != plain.fingerprint)
    }

    @Test func badStyleListsAreRefusedByName() throws {
        var config = TokenizerConfig()
        config.styles = ["bach"]
        #expect(throws: REMIError.self) { try config.validate() }  // styles without controls
        config.controls = true
        for bad in [["bach", "bach"], ["two words"], ["a_b"], [""]] {
            config.styles = bad
            #expect(throws: REMIError.self) { try config.validate() }
        }
        config.styles = ["bach"]
        config.densityThresholds = [20, 10]
        #expect(throws: REMIError.self) { try config.validate() }
    }

    @Test func keysReadAsMusiciansWriteThem() {
        #expect(MusicalKey(parsing: "A minor") == MusicalKey(tonic: 9, isMinor: true))
        #expect(MusicalKey(parsing: "Eb major") == MusicalKey(tonic: 3, isMinor: false))
        #expect(MusicalKey(parsing: "F#m") == MusicalKey(tonic: 6, isMinor: true))
        #expect(MusicalKey(parsing: "c:maj") == MusicalKey(tonic: 0, isMinor: false))
        #expect(MusicalKey(parsing: "Bb") == MusicalKey(tonic: 10, isMinor: false))
        #expect(MusicalKey(parsing: "H major") == nil && MusicalKey(parsing: "C lydian") == nil)
        #expect(MusicalKey(parsing: "Cb major")?.name == "B:maj")
    }

    @Test func keyFindingNamesScalesAndChords() {
        func weights(_ pcs: [Int: Double]) -> [Double] { (0..<12).map { pcs[$0] ?? 0 } }
        // C major scale with a tonic triad stressed.
        let cMajor = weights([0: 5, 2: 2, 4: 4, 5: 2, 7: 4, 9: 2, 11: 1])
        #expect(MusicalKey.estimate(pitchClassWeights: cMajor)?.name == "C:maj")
        // A harmonic minor with its tonic triad stressed.
        let aMinor = weights([9: 5, 11: 2, 0: 4, 2: 2, 4: 4, 5: 2, 8: 2])
        #expect(MusicalKey.estimate(pitchClassWeights: aMinor)?.name == "A:min")
        // Moving every pitch moves the key.
        let moved = (0..<12).map { cMajor[($0 + 12 - 7) % 12] }
        #expect(MusicalKey.estimate(pitchClassWeights: moved)?.name == "G:maj")
        #expect(MusicalKey.estimate(pitchClassWeights: [Double](repeating: 0, count: 12)) == nil)
    }

    @Test func theHeaderMeasuresKeyAndDensity() throws {
        let tokenizer = try Self.controlled()
        let ids = try tokenizer.tokenize(Self.piece(bars: 4))
        #expect(tokenizer.key(ofIDs: ids)?.name == "C:maj")
        // Four notes in each bar: every bar's density is sparse.
        let headed = tokenizer.withHeaders(ids, style: 1, key: tokenizer.key(ofIDs: ids), density: true)
        #expect(
            headed.prefix(4).map { tokenizer.vocabulary.name(of: tokenizer.vocabulary.events[$0]) } == [
                "Bar_None", "Style_chopin", "Key_C:maj", "Density_sparse",
            ])
        #expect(try REMITokenizer().header(style: 1, key: tokenizer.key(ofIDs: ids), density: 0).isEmpty)
    }

    @Test func controlsAreRestatedAfterEveryBarWithEachBarsOwnDensity() throws {
        let tokenizer = try Self.controlled()
        let v = tokenizer.vocabulary
        // Bar 1 holds 4 notes, bar 2 none, bar 3 holds 30.
        var notes = (0..<4).map { Note(start: $0 * 480, end: $0 * 480 + 400, pitch: 60 + $0, velocity: 80) }
        notes += (0..<30).map { Note(start: 3840 + $0 * 60, end: 3840 + $0 * 60 + 50, pitch: 70, velocity: 80) }
        let file = MIDIFile(
            format: .multiTrack, division: .ticksPerBeat(480), tracks: [Track(name: "P", notes: notes, endTick: 5760)])
        let ids = try tokenizer.tokenize(file)
        let key = MusicalKey(tonic: 9, isMinor: true)
        let headed = tokenizer.withHeaders(ids, style: 0, key: key, density: true)
        let bar = try #require(v.id(for: .bar))
        let afterBars = headed.indices.filter { headed[$0] == bar }.map { Array(headed[($0 + 1)...].prefix(3)) }
        let expected = [0, 0, 2].map { d in
            [REMIEvent.style(0), .key(key.index), .density(d)].compactMap { v.id(for: $0) }
        }
        #expect(afterBars == expected)
        // Nothing else changes: without the control tokens it is the piece, and it decodes the same.
        #expect(headed.filter { !(368..<v.count).contains($0) } == ids)
        #expect(tokenizer.decode(ids: headed) == tokenizer.decode(ids: ids))
        #expect(tokenizer.withHeaders(ids, style: nil, key: nil, density: false) == ids)
    }

    @Test func anInfillingExampleRepeatsTheBarsAfterTheGapAndDecodesToThePiece() throws {
        let tokenizer = try Self.controlled()
        let v = tokenizer.vocabulary
        let ids = try tokenizer.tokenize(Self.piece(bars: 8, pitches: [60, 62, 64, 65, 67]))
        let bars = tokenizer.barStarts(of: ids)
        let example = try #require(tokenizer.insertingInfill(into: ids, gap: 2..<4, suffixBars: 2, suffixTokens: 1000))
        let s = try #require(v.id(for: .fillSuffix)), m = try #require(v.id(for: .fillMiddle))
        let e = try #require(v.id(for: .fillEnd))
        var expected = Array(ids[..<bars[2]]) + [s] + Array(ids[bars[4]..<bars[6]]) + [m]
        expected += Array(ids[bars[2]..<bars[4]]) + [e] + Array(ids[bars[4]...])
        #expect(example == expected)
        #expect(tokenizer.decode(ids: example) == tokenizer.decode(ids: ids))
        // A hint longer than its budget is cut at a bar line, else before a Position.
        let short = try #require(tokenizer.infillParts(of: ids, gap: 2..<4, suffixBars: 3, suffixTokens: 20))
        #expect(short.suffix.lowerBound == bars[4] && short.suffix.count <= 20)
        switch v.event(for: ids[short.suffix.upperBound]) {
        case .position?, .bar?: break
        default: Issue.record("the hint is cut inside an item")
        }
        // No example for a gap that is not followed by a bar, or outside the piece.
        #expect(tokenizer.insertingInfill(into: ids, gap: 6..<8, suffixBars: 2, suffixTokens: 100) == nil)
        #expect(tokenizer.insertingInfill(into: ids, gap: 9..<10, suffixBars: 2, suffixTokens: 100) == nil)
    }

    @Test func aBridgeRestatesTheBarsBeforeTheGapAndStillDecodesToThePiece() throws {
        var config = try Self.controlled().config
        config.infillBridgeBars = 1
        let tokenizer = try REMITokenizer(config: config)
        let v = tokenizer.vocabulary
        let ids = try tokenizer.tokenize(Self.piece(bars: 8, pitches: [60, 62, 64, 65, 67]))
        let bars = tokenizer.barStarts(of: ids)
        let s = try #require(v.id(for: .fillSuffix)), m = try #require(v.id(for: .fillMiddle))
        let e = try #require(v.id(for: .fillEnd))
        let example = try #require(tokenizer.insertingInfill(into: ids, gap: 2..<4, suffixBars: 2, suffixTokens: 1000))
        var expected =
            Array(ids[..<bars[2]]) + [s] + Array(ids[bars[4]..<bars[6]]) + [m] + Array(ids[bars[1]..<bars[2]])
        expected += Array(ids[bars[2]..<bars[4]]) + [e] + Array(ids[bars[4]...])
        #expect(example == expected)
        #expect(tokenizer.decode(ids: example) == tokenizer.decode(ids: ids))
        // A gap at the first bar has nothing before it to restate.
        let first = try #require(tokenizer.insertingInfill(into: ids, gap: 0..<1, suffixBars: 1, suffixTokens: 1000))
        #expect(tokenizer.decode(ids: first) == tokenizer.decode(ids: ids))
        // The config keeps the field only when it is used.
        let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(json.contains("\"infillBridgeBars\":1"))
        #expect(
            !String(decoding: try JSONEncoder().encode(try Self.controlled().config), as: UTF8.self).contains("Bridge"))
    }

    @Test func randomIdsWithControlTokensStillDecode() throws {
        let tokenizer = try Self.controlled()
        var rng = SplitMix(seed: 11)
        for _ in 0..<300 {
            let ids = (0..<200).map { _ in Int(rng.next() % UInt64(tokenizer.vocabulary.count)) }
            let file = tokenizer.decode(ids: ids)
            #expect(file.tracks.allSatisfy { $0.notes.allSatisfy { $0.end >= $0.start } })
        }
    }
}

@Test func controlTokensAreExactlyTheHeaderAndInfillingMarkers() {
    let controls: [REMIEvent] = [.style(0), .key(3), .density(1), .fillSuffix, .fillMiddle, .fillEnd]
    let music: [REMIEvent] = [
        .bar, .position(0), .noteOn(60), .duration(2), .timeSignature(numerator: 3, denominator: 4),
    ]
    #expect(controls.allSatisfy { $0.isControl })
    #expect(!music.contains { $0.isControl })
}
