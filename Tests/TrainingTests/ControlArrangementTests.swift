import Foundation
import MIDI
import Models
import REMI
import Tensor
import Testing

@testable import Training

struct ControlArrangementTests {
    static func tokenizer() throws -> REMITokenizer {
        var config = TokenizerConfig()
        config.controls = true
        config.styles = ["bach", "chopin"]
        return try REMITokenizer(config: config)
    }

    static func piece(bars: Int) throws -> [Int32] {
        let notes = (0..<(bars * 4)).map { beat in
            Note(start: beat * 480, end: beat * 480 + 300, pitch: [57, 60, 64, 69, 72][beat % 5], velocity: 80)
        }
        let file = MIDIFile(
            format: .multiTrack, division: .ticksPerBeat(480),
            tracks: [Track(name: "Piano", notes: notes, endTick: bars * 1920)])
        return try tokenizer().tokenize(file).map { Int32($0) }
    }

    @Test func piecesGetAHeaderAndGapsAndStillDecodeToThemselves() throws {
        let tokenizer = try Self.tokenizer(), v = tokenizer.vocabulary
        let ids = try Self.piece(bars: 120)
        let arrangement = ControlArrangement()
        let a = arrangement.apply(to: ids, style: 1, tokenizer: tokenizer, seed: 5, epoch: 0, piece: 3)
        let b = arrangement.apply(to: ids, style: 1, tokenizer: tokenizer, seed: 5, epoch: 0, piece: 3)
        let c = arrangement.apply(to: ids, style: 1, tokenizer: tokenizer, seed: 5, epoch: 1, piece: 3)
        #expect(a == b && a != c)
        func count(_ e: REMIEvent, _ xs: [Int32]) -> Int { xs.filter { Int($0) == v.id(for: e) }.count }
        #expect(count(.fillSuffix, a) >= 2 && count(.fillSuffix, a) == count(.fillMiddle, a))
        #expect(count(.fillMiddle, a) == count(.fillEnd, a))
        #expect(tokenizer.decode(ids: a.map { Int($0) }) == tokenizer.decode(ids: ids.map { Int($0) }))
        // Every bar restates the style, the measured key and its density, unless a kind is
        // left out of the whole piece.
        let key = try #require(tokenizer.key(ofIDs: ids))
        var seen = Set<[Int]>()
        for epoch in 0..<40 {
            let arranged = arrangement.apply(to: ids, style: 1, tokenizer: tokenizer, seed: 5, epoch: epoch, piece: 3)
            let bar = try #require(v.id(for: .bar))
            let second = try #require(arranged.indices.filter { Int(arranged[$0]) == bar }.dropFirst().first)
            let header = arranged[(second + 1)...].prefix { Int($0) != bar && Int($0) >= 368 }.map { Int($0) }
            #expect(
                header.allSatisfy {
                    [v.id(for: .style(1)), v.id(for: .key(key.index)), v.id(for: .density(0))].contains($0)
                })
            seen.insert(header)
        }
        #expect(seen.contains(tokenizer.header(style: 1, key: key, density: 0)) && seen.count > 1)
        // A tokenizer without controls leaves pieces alone.
        #expect(
            arrangement.apply(to: ids, style: 1, tokenizer: try REMITokenizer(), seed: 5, epoch: 0, piece: 3) == ids)
    }

    @Test func aGrownVocabularyKeepsEveryWeightOfTheModelItGrewFrom() throws {
        let small = ModelConfig.tiny(.transformerXL, vocabularySize: 368)
        var grownConfig = small
        grownConfig.vocabularySize = 410
        let old = try LanguageModel(config: small, seed: 1)
        let grown = try LanguageModel(config: grownConfig, growing: old.checkpoint(), seed: 2)
        for ((name, a), (_, b)) in zip(old.parameters, grown.parameters) {
            let copied = Array(UnsafeBufferPointer(start: b.pointer, count: a.count))
            #expect(copied == Array(UnsafeBufferPointer(start: a.pointer, count: a.count)), "\(name)")
        }
        var otherWidth = small
        otherWidth.modelWidth = 24
        #expect(throws: (any Error).self) {
            try LanguageModel(config: otherWidth, growing: old.checkpoint(), seed: 2)
        }
    }
}
