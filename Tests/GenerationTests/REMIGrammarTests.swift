import Foundation
import MIDI
import REMI
import Testing
@testable import Generation

/// The grammar mask on hand-made prefixes, and on real tokenized pieces (no violations).
struct REMIGrammarTests {
    let ids: Ids
    init() throws { ids = try Ids() }

    func grammar(after prefix: [Int]) -> REMIGrammar {
        var g = REMIGrammar(vocabulary: ids.vocabulary)
        g.advance(through: prefix)
        return g
    }

    /// The allowed ids, as readable names, for compact expectations.
    func allowedKinds(_ g: REMIGrammar) -> Set<String> {
        Set(
            g.allowed.indices.filter { g.allowed[$0] }.map { id -> String in
                switch ids.vocabulary.events[id] {
                case .padding: return "Padding"
                case .startOfPiece: return "Start"
                case .endOfPiece: return "End"
                case .bar: return "Bar"
                case .position: return "Position"
                case .chord: return "Chord"
                case .tempoClass: return "TempoClass"
                case .tempoValue: return "TempoValue"
                case .velocity: return "Velocity"
                case .noteOn: return "NoteOn"
                case .duration: return "Duration"
                case .style, .key, .density: return "Header"
                case .fillSuffix, .fillMiddle, .fillEnd: return "Infill"
                case .instrument: return "Instrument"
                case .timeSignature: return "TimeSignature"
                }
            })
    }

    @Test func aPieceOpensWithBar() {
        let g = grammar(after: [])
        #expect(allowedKinds(g) == ["Bar"])
        #expect(g.allowed.filter { $0 }.count == 1)
    }

    @Test func afterBarComesPositionBarOrNothingElseBeforeAnyNote() {
        #expect(allowedKinds(grammar(after: [ids.bar])) == ["Bar", "Position"])
        // Once a note has been written, the piece may end after a bar.
        #expect(
            allowedKinds(grammar(after: [ids.bar] + ids.note(at: 0, pitch: 60) + [ids.bar]))
                == ["Bar", "Position", "End"])
    }

    @Test func afterPositionComesOneItem() {
        #expect(allowedKinds(grammar(after: [ids.bar, ids.position(4)])) == ["Chord", "TempoClass", "Velocity"])
    }

    @Test func noteEventsComeInTheirOrder() {
        let prefix = [ids.bar, ids.position(4), ids(.velocity(10))]
        #expect(allowedKinds(grammar(after: prefix)) == ["NoteOn"])
        #expect(allowedKinds(grammar(after: prefix + [ids(.noteOn(60))])) == ["Duration"])
        #expect(grammar(after: prefix + [ids(.noteOn(60))]).allowed.filter { $0 }.count == 64)
    }

    @Test func tempoClassIsFollowedByTempoValue() {
        let g = grammar(after: [ids.bar, ids.position(0), ids(.tempoClass(1))])
        #expect(allowedKinds(g) == ["TempoValue"])
        #expect(g.allowed.filter { $0 }.count == 60)
    }

    @Test func positionsDoNotGoBackwardsInsideABar() {
        let g = grammar(after: [ids.bar] + ids.note(at: 8, pitch: 60))
        for p in 0..<16 { #expect(g.allows(ids.position(p)) == (p >= 8), "Position \(p + 1)/16 after 9/16") }
        #expect(g.allows(ids.bar) && g.allows(ids.end))
        // A new bar resets the position.
        let next = grammar(after: [ids.bar] + ids.note(at: 8, pitch: 60) + [ids.bar])
        #expect(next.allows(ids.position(0)))
    }

    @Test func itemsAtOneOnsetKeepTheEncodersOrder() {
        let chord = [ids.bar, ids.position(0), ids(.chord(.noChord)), ids.position(0)]
        #expect(allowedKinds(grammar(after: chord)) == ["TempoClass", "Velocity"])
        let tempo = chord + [ids(.tempoClass(1)), ids(.tempoValue(30)), ids.position(0)]
        #expect(allowedKinds(grammar(after: tempo)) == ["Velocity"])
        let note = [ids.bar] + ids.note(at: 2, pitch: 60) + [ids.position(2)]
        #expect(allowedKinds(grammar(after: note)) == ["Velocity"])
        // A later position starts a new onset: anything may follow it.
        let later = [ids.bar] + ids.note(at: 2, pitch: 60) + [ids.position(3)]
        #expect(allowedKinds(grammar(after: later)) == ["Chord", "TempoClass", "Velocity"])
    }

    @Test func endOfPieceNeedsANoteAndEndsEverything() {
        let chordOnly = grammar(after: [ids.bar, ids.position(0), ids(.chord(.noChord))])
        #expect(!chordOnly.allows(ids.end))
        var g = grammar(after: [ids.bar] + ids.note(at: 0, pitch: 60))
        #expect(g.allows(ids.end))
        g.advance(ids.end)
        #expect(g.phase == .ended)
        #expect(g.allowed.allSatisfy { !$0 })
    }

    @Test func endOfPieceCanBeSwitchedOff() {
        var g = REMIGrammar(vocabulary: ids.vocabulary, allowsEndOfPiece: false)
        g.advance(through: [ids.bar] + ids.note(at: 0, pitch: 60))
        #expect(!g.allows(ids.end) && g.allows(ids.bar))
        g.advance(ids.bar)
        #expect(!g.allows(ids.end) && g.allows(ids.position(0)))
    }

    @Test func paddingAndStartAreNeverAllowed() {
        for prefix in [[], [ids.bar], [ids.bar] + ids.note(at: 0, pitch: 60)] {
            let g = grammar(after: prefix)
            #expect(!g.allows(ids(.padding)) && !g.allows(ids(.startOfPiece)))
        }
    }

    @Test func countsBarsNotesAndViolations() {
        let good = [ids.bar] + ids.note(at: 0, pitch: 60) + ids.note(at: 4, pitch: 64) + [ids.bar, ids.bar]
        let g = grammar(after: good)
        #expect(g.bars == 3 && g.notes == 2 && g.violations == 0 && g.tokens == good.count)
        // Note On without velocity, a position going back, a duration with no note: three breaks.
        let bad = [
            ids.bar, ids.position(8), ids(.noteOn(60)), ids(.duration(3)),
            ids.position(2), ids(.duration(3)),
        ]
        let h = grammar(after: bad)
        #expect(h.violations == 3)
        #expect(h.notes == 1)
        // It resynchronises on the token's own role: after the stray duration an item is done.
        #expect(h.phase == .itemDone)
    }

    static let arrangementConfig = TokenizerConfig.arrangement()

    /// With metres followed, a bar's positions end where its metre does; with instruments a
    /// note opens with its part.
    @Test func metresCloseTheirBarsAndNotesNameTheirPart() throws {
        let v = try Vocabulary(config: Self.arrangementConfig)
        func allowed(_ events: [REMIEvent]) -> [Bool] {
            var g = REMIGrammar(vocabulary: v)
            g.advance(through: events.compactMap { v.id(for: $0) })
            return g.allowed
        }
        let waltz = allowed([.bar, .timeSignature(numerator: 3, denominator: 4)])
        #expect(waltz[v.id(for: .position(11))!] && !waltz[v.id(for: .position(12))!])
        #expect(!waltz[v.id(for: .timeSignature(numerator: 4, denominator: 4))!])
        let long = allowed([.bar, .timeSignature(numerator: 12, denominator: 8), .bar])
        #expect(long[v.id(for: .position(23))!] && !long[v.id(for: .position(24))!])
        #expect(long[v.id(for: .timeSignature(numerator: 4, denominator: 4))!])
        // Before any metre a bar is 4/4.
        let plain = allowed([.bar])
        #expect(plain[v.id(for: .position(15))!] && !plain[v.id(for: .position(16))!])
        let item = allowed([.bar, .position(0)])
        #expect(item[v.id(for: .instrument(129))!] && !item[v.id(for: .velocity(3))!])
        let part = allowed([.bar, .position(0), .instrument(128)])
        #expect(
            part.enumerated().filter(\.element).allSatisfy {
                if case .velocity = v.events[$0.offset] { true } else { false }
            })
    }

    /// A key struck at an onset may not be struck again at that onset (on the same part), but
    /// reading such a pair, as the encoder may write it, is no violation.
    @Test func aKeyIsStruckOnceAtAnOnset() throws {
        let struck = [ids.bar] + ids.note(at: 4, pitch: 60) + [ids.position(4), ids(.velocity(10))]
        let again = grammar(after: struck)
        #expect(!again.allowed[ids(.noteOn(60))] && again.allowed[ids(.noteOn(61))])
        #expect(
            again.allowed.filter { $0 }.count == grammar(after: [ids.bar, ids.position(4), ids(.velocity(10))]).allowed
                .filter { $0 }.count - 1)
        // At the next onset, and in the next bar, the key is free again.
        #expect(grammar(after: struck.dropLast(2) + [ids.position(5), ids(.velocity(10))]).allowed[ids(.noteOn(60))])
        #expect(
            grammar(after: struck.dropLast(2) + [ids.bar, ids.position(4), ids(.velocity(10))]).allowed[
                ids(.noteOn(60))])
        var read = grammar(after: struck + [ids(.noteOn(60)), ids(.duration(7))])
        #expect(read.violations == 0)
        read.advance(ids.bar)
        #expect(read.violations == 0)
        // With parts, only the same part's key is taken.
        let v = try Vocabulary(config: Self.arrangementConfig)
        func allowed(_ events: [REMIEvent]) -> [Bool] {
            var g = REMIGrammar(vocabulary: v)
            g.advance(through: events.compactMap { v.id(for: $0) })
            return g.allowed
        }
        let first: [REMIEvent] = [
            .bar, .position(0), .instrument(128), .velocity(3), .noteOn(60), .duration(3), .position(0),
        ]
        #expect(!allowed(first + [.instrument(128), .velocity(3)])[v.id(for: .noteOn(60))!])
        #expect(allowed(first + [.instrument(129), .velocity(3)])[v.id(for: .noteOn(60))!])
    }

    @Test func theMaskHasOneEntryPerId() {
        #expect(grammar(after: []).allowed.count == ids.vocabulary.count)
    }

    /// Every rule holds in real music: the grammar accepts the encoder's output untouched.
    @Test(
        .enabled(if: GenerationSharedData.isPresent, "../shared/data is absent"),
        arguments: [false, true])
    func realPiecesNeverBreakTheGrammar(withInstrumentsAndMetres: Bool) throws {
        let tokenizer = try REMITokenizer(config: withInstrumentsAndMetres ? Self.arrangementConfig : TokenizerConfig())
        let files =
            GenerationSharedData.midiFiles(under: GenerationSharedData.pop909, count: 6)
            + GenerationSharedData.midiFiles(under: GenerationSharedData.maestro, count: 3)
        #expect(files.count == 9)
        for url in files {
            let tokens = try tokenizer.tokenize(MIDIFile(contentsOf: url))
            var g = REMIGrammar(vocabulary: tokenizer.vocabulary)
            var firstBreak: Int?
            for (i, id) in tokens.enumerated() {
                if firstBreak == nil && !g.allows(id) { firstBreak = i }
                g.advance(id)
            }
            #expect(g.violations == 0, "\(url.lastPathComponent): first break at token \(firstBreak ?? -1)")
            #expect(g.phase == .ended && g.notes > 0)
        }
    }
}
