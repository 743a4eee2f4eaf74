import Foundation
import MIDI
import Plot
import Testing
@testable import Generation

/// One track at 480 ticks per beat and 120 bpm, so 960 ticks are one second.
private func file(_ notes: [Note], controls: [ControlChange] = [], signatures: [TimeSignature] = []) -> MIDIFile {
    MIDIFile(
        division: .ticksPerBeat(480), tracks: [Track(notes: notes, controlChanges: controls)],
        tempoChanges: [TempoChange(tick: 0, microsecondsPerBeat: 500_000)], timeSignatures: signatures)
}

@Test func pedalHoldsANoteUntilItComesUp() {
    // Key up at 1 s with the pedal down from 0.5 s to 2 s: the sound lasts until 2 s.
    let f = file(
        [Note(start: 0, end: 960, pitch: 60, velocity: 100)],
        controls: [
            ControlChange(tick: 480, controller: 64, value: 127),
            ControlChange(tick: 1920, controller: 64, value: 0),
        ])
    #expect(PianoSynthesizer.voices(in: f) == [.init(onset: 0, release: 2, pitch: 60, velocity: 100)])
    // A pedal on another channel does nothing to this note.
    let other = file(
        [Note(start: 0, end: 960, pitch: 60, velocity: 100)],
        controls: [ControlChange(tick: 480, controller: 64, value: 127, channel: 3)])
    #expect(PianoSynthesizer.voices(in: other).first?.release == 1)
}

@Test func strikingTheSameKeyAgainEndsTheEarlierSound() {
    let f = file(
        [Note(start: 0, end: 960, pitch: 60, velocity: 100), Note(start: 480, end: 960, pitch: 60, velocity: 90)],
        controls: [ControlChange(tick: 0, controller: 64, value: 100)])
    let voices = PianoSynthesizer.voices(in: f)
    // The first is cut at 0.5 s by the re-strike; the second rings on the pedal, which never
    // comes up, to the end of the last note (tick 961, just over 1 s).
    #expect(voices.count == 2)
    #expect(voices[0].release == 0.5)
    #expect(abs(voices[1].release - 961.0 / 960.0) < 1e-9)
    // A file that goes on after its last note: the pedal, never lifted, holds it to the end.
    var longer = f
    longer.tracks[0].endTick = 4 * 960
    #expect(abs(PianoSynthesizer.voices(in: longer)[1].release - 3841.0 / 960.0) < 1e-9)
}

/// A closed or pedal hi-hat cuts off an open one (General MIDI's exclusive class), which rang
/// on for seconds through it; other drums ring out.
@Test func aClosedHiHatChokesTheOpenOne() {
    var drums = Track(
        notes: [46, 42, 38].enumerated().map {
            Note(start: $0.offset * 480, end: $0.offset * 480 + 60, pitch: $0.element, velocity: 100)
        })
    drums.isDrum = true
    let f = MIDIFile(
        division: .ticksPerBeat(480), tracks: [drums],
        tempoChanges: [TempoChange(tick: 0, microsecondsPerBeat: 500_000)])
    let voices = PianoSynthesizer.voices(in: f)
    let synth = PianoSynthesizer()
    let open = voices.first { $0.pitch == 46 }, snare = voices.first { $0.pitch == 38 }
    #expect(open?.chokedAt == 0.5 && snare?.chokedAt == nil)
    #expect(open.map(synth.ringEnd) == 1.1)
}

/// The magnitude of the discrete Fourier transform of `x` at `frequency` Hz.
private func magnitude(_ x: ArraySlice<Float>, at frequency: Double, rate: Double) -> Double {
    var re = 0.0, im = 0.0
    for (k, v) in x.enumerated() {
        let phase = 2 * Double.pi * frequency * Double(k) / rate
        re += Double(v) * cos(phase); im += Double(v) * sin(phase)
    }
    return (re * re + im * im).squareRoot()
}

@Test func anA4SoundsAt440HzWithItsPeakAtTheSetLevel() throws {
    let synth = PianoSynthesizer(sampleRate: 16_000)
    let samples = synth.render(file([Note(start: 0, end: 960, pitch: 69, velocity: 100)]))
    let peak = samples.map { abs($0) }.max() ?? 0
    #expect(abs(Double(peak) - synth.peakLevel) < 1e-6)
    let window = samples[1_600..<4_800]  // 0.1 ... 0.3 s
    let at440 = magnitude(window, at: 440, rate: 16_000)
    #expect(at440 > 5 * magnitude(window, at: 415.3, rate: 16_000))  // a semitone below
    #expect(at440 > 5 * magnitude(window, at: 466.2, rate: 16_000))  // a semitone above
    // Key up at 1 s; the voice stops 0.6 s later (damper down by 7.5 time constants, under
    // -60 dB) and 0.25 s of silence closes the file.
    #expect(samples.count == 16_000 * 185 / 100)
    let tail = samples[(16_000 * 16 / 10)...].map { abs($0) }.max() ?? 1
    #expect(tail < 1e-3)
}

@Test func louderNotesAreLouder() throws {
    let synth = PianoSynthesizer(sampleRate: 8_000)
    // Two notes a second apart; normalisation scales both alike, so their ratio survives.
    let samples = synth.render(
        file([
            Note(start: 0, end: 480, pitch: 60, velocity: 40),
            Note(start: 1_920, end: 2_400, pitch: 60, velocity: 120),
        ]))
    let soft = samples[0..<4_000].map { abs($0) }.max() ?? 0
    let loud = samples[16_000..<20_000].map { abs($0) }.max() ?? 0
    #expect(loud > 4 * soft)  // (120/40)^2 = 9 times the amplitude, minus the brightness change
}

@Test func wavHeaderDescribes16BitPCM() {
    let bytes = WAV.encode(samples: [0, 1, -1, 0.5], sampleRate: 44_100)
    #expect(bytes.count == 44 + 8)
    #expect(Array(bytes[0..<4]) == Array("RIFF".utf8) && Array(bytes[8..<16]) == Array("WAVEfmt ".utf8))
    func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
    #expect(u32(4) == 44)  // RIFF size: file size minus 8
    #expect(u32(24) == 44_100)  // sample rate
    #expect(u32(28) == 88_200)  // bytes per second
    #expect(u32(40) == 8)  // data size
    #expect(Array(bytes[44...]) == [0x00, 0x00, 0xFF, 0x7F, 0x01, 0x80, 0x00, 0x40])  // 0, 32767, -32767, 16384
}

@Test func fluidSynthIsFoundOnlyWithAProgramAndASoundFont() throws {
    #expect(throws: RenderError.fluidSynthNotFound) { try FluidSynth.locate(environment: ["PATH": "/nonexistent"]) }
    // With a fake program and font in a temporary folder, both are found.
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cadenza-fluid-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let program = dir.appendingPathComponent("fluidsynth")
    #expect(
        FileManager.default.createFile(
            atPath: program.path, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755]))
    let font = dir.appendingPathComponent("piano.sf2")
    #expect(FileManager.default.createFile(atPath: font.path, contents: Data([0])))
    let found = try FluidSynth.locate(environment: ["PATH": dir.path, "CADENZA_SOUNDFONT": font.path])
    #expect(found.executable.path == program.path && found.soundFont.path == font.path)
}

@Test func barGridFollowsTimeSignatures() {
    // 4/4 bar, then 3/4 from tick 1920, then 6/8 from 3360.
    let f = file(
        [Note(start: 0, end: 4_800, pitch: 60, velocity: 80)],
        signatures: [
            TimeSignature(tick: 0, numerator: 4, denominator: 4),
            TimeSignature(tick: 1_920, numerator: 3, denominator: 4),
            TimeSignature(tick: 3_360, numerator: 6, denominator: 8),
        ])
    let grid = BarGrid(file: f, endTick: 4_799)
    // The 6/8 bar (6 eighths = 1,440 ticks) ends at 4,800, so it covers the last tick 4,799.
    #expect(grid.bars.map(\.start) == [0, 1_920, 3_360])
    #expect(grid.bars.map(\.beatLength) == [480, 480, 240])
    #expect(BarGrid(file: f, endTick: 4_800).bars.count == 4)
    #expect(grid.bars[2].length == 1_440)
}

@Test func pianoRollShadesByVelocityAndColoursByTrack() throws {
    let f = file([
        Note(start: 0, end: 1_920, pitch: 60, velocity: 127), Note(start: 1_920, end: 3_840, pitch: 64, velocity: 20),
    ])
    let canvas = PianoRoll(width: 600).render(f)
    var loud = 0, soft = 0
    let full = Color.palette[0], pale = Color.palette[0].mixed(with: .white, amount: 0.8 * (1 - 20.0 / 127))
    for y in 0..<canvas.height {
        for x in 0..<canvas.width {
            if canvas.pixel(x: x, y: y) == full { loud += 1 }
            if canvas.pixel(x: x, y: y) == pale { soft += 1 }
        }
    }
    // Both notes are half the roll wide and one row high: the same area, in two shades.
    #expect(loud > 500 && soft > 500 && abs(loud - soft) < loud / 5)
    #expect(PianoRoll.pitchName(60) == "C4" && PianoRoll.pitchName(21) == "A0" && PianoRoll.pitchName(70) == "A#4")
}

@Test func emptyAndSMPTEFilesStillPlotAndRender() throws {
    let empty = MIDIFile(tracks: [Track()])
    let roll = PianoRoll(width: 400).render(empty)
    #expect(roll.width == 400 && roll.height > 100)
    let silence = PianoSynthesizer(sampleRate: 8_000).render(empty)
    #expect(silence.count == 2_000 && silence.allSatisfy { $0 == 0 })  // 0.25 s of silence
    // SMPTE: 25 fps x 40 ticks = 1,000 ticks per second; a note of 1,000 ticks lasts 1 s.
    let smpte = MIDIFile(
        division: .smpte(framesPerSecond: 25, ticksPerFrame: 40),
        tracks: [Track(notes: [Note(start: 1_000, end: 2_000, pitch: 60, velocity: 90)])])
    #expect(PianoSynthesizer.voices(in: smpte) == [.init(onset: 1, release: 2, pitch: 60, velocity: 90)])
    #expect(BarGrid(file: smpte, endTick: 1_999).bars.map(\.start) == [0])  // one 2-second "bar"
    #expect(PianoRoll(width: 400).render(smpte).width == 400)
}

@Test func signalLevelsInDecibels() {
    let levels = SignalLevels(samples: [0.5, -0.5, 0.5, -0.5], sampleRate: 4)
    #expect(abs(levels.peakDecibels - 20 * log10(0.5)) < 1e-9)  // -6.02 dBFS
    #expect(abs(levels.rmsDecibels - 20 * log10(0.5)) < 1e-9)  // a square wave's RMS is its peak
    #expect(levels.seconds == 1)
}

@Test func theStreamedWAVEqualsTheEncodedOne() throws {
    let samples = (0..<200_000).map { Float(sin(Double($0) * 0.01)) * 0.9 }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID().uuidString).wav")
    defer { try? FileManager.default.removeItem(at: url) }
    try WAV.write(samples: samples, sampleRate: 44_100, to: url)
    #expect(try Data(contentsOf: url) == Data(WAV.encode(samples: samples, sampleRate: 44_100)))
}

/// Each instrument sounds as its General MIDI family: a held string note lasts until its
/// release, a plucked bass note dies away, a drum rings out whatever its note's length.
@Test func eachFamilyHasItsOwnSound() throws {
    let strings = Track(
        notes: [Note(start: 0, end: 1_920, pitch: 60, velocity: 90, channel: 1)],
        programChanges: [ProgramChange(tick: 0, program: 48, channel: 1)])
    let bass = Track(
        notes: [Note(start: 0, end: 1_920, pitch: 36, velocity: 90, channel: 2)],
        programChanges: [ProgramChange(tick: 0, program: 33, channel: 2)])
    let drums = Track(notes: [Note(start: 960, end: 970, pitch: 36, velocity: 100, channel: 9)], isDrum: true)
    let file = MIDIFile(
        tracks: [strings, bass, drums], tempoChanges: [TempoChange(tick: 0, microsecondsPerBeat: 500_000)])
    let synth = PianoSynthesizer(sampleRate: 8_000)
    let voices = PianoSynthesizer.voices(in: file)
    #expect(voices.map(\.instrument).sorted() == [33, 48, PianoSynthesizer.Voice.drums])
    let byInstrument = Dictionary(uniqueKeysWithValues: voices.map { ($0.instrument, $0) })
    // Strings hold for the note's two seconds, then the damper ends them.
    #expect(abs(synth.ringEnd(byInstrument[48]!) - 2.6) < 1e-9)
    // The kick drum's 5 ms note still rings for its own decay.
    let kick = byInstrument[PianoSynthesizer.Voice.drums]!
    #expect(synth.ringEnd(kick) > kick.release + 0.5 && synth.ringEnd(kick) < kick.onset + 2)
    #expect(synth.timbre(of: byInstrument[33]!) != synth.timbre(of: byInstrument[48]!))
    // The drum is heard: signal where only it plays, after the others stopped.
    let signal = synth.render(file)
    #expect(signal.count > 8_000 * 2)
    let kickOnly = MIDIFile(tracks: [drums], tempoChanges: file.tempoChanges)
    #expect(synth.render(kickOnly).contains { abs($0) > 0.1 })
}
