import Basics
import Foundation
import MIDI
import Testing
@testable import Generation

/// Two notes 0x0FFFFFFF ticks apart, the largest gap one delta of a MIDI file can hold: a
/// 47-byte file that asks for 77 hours of sound and 139,811 bars. Built with the MIDI module
/// and read back, as `cadenza` would read it from disk.
func longSpanFile() throws -> MIDIFile {
    let notes = [
        Note(start: 0, end: 480, pitch: 60, velocity: 100),
        Note(start: 0x0FFF_FFFF, end: 0x0FFF_FFFF + 480, pitch: 62, velocity: 100),
    ]
    let written = MIDIFile(division: .ticksPerBeat(480), tracks: [Track(notes: notes)])
    return try MIDIFile(bytes: written.encoded())
}

/// A few seconds with what makes the mixer's bookkeeping hard: chords, a re-struck key, the
/// pedal, a bass note ringing long after its key is released, notes starting at one tick.
private func busyPiece() -> MIDIFile {
    var notes: [Note] = []
    for beat in 0..<8 {
        for pitch in [60, 64, 67] {
            notes.append(
                Note(start: beat * 240, end: beat * 240 + 200, pitch: pitch + beat % 3, velocity: 40 + beat * 10))
        }
    }
    notes.append(Note(start: 100, end: 700, pitch: 60, velocity: 90))  // struck again while sounding
    notes.append(Note(start: 0, end: 3_000, pitch: 28, velocity: 127))
    notes.append(Note(start: 1_000, end: 1_001, pitch: 108, velocity: 1))
    return MIDIFile(
        division: .ticksPerBeat(480),
        tracks: [
            Track(
                notes: notes,
                controlChanges: [
                    ControlChange(tick: 500, controller: 64, value: 127),
                    ControlChange(tick: 1_500, controller: 64, value: 0),
                ])
        ],
        tempoChanges: [TempoChange(tick: 0, microsecondsPerBeat: 500_000)])
}

/// A new empty folder, removed by the caller.
private func scratchFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cadenza-render-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// Every name in `folder`, hidden temporary files included.
private func names(in folder: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
}

@Test func aLongSpanFileIsRefusedByTheRenderLimitBeforeAnythingIsWritten() throws {
    let file = try longSpanFile()
    let synthesizer = PianoSynthesizer()
    #expect(synthesizer.duration(of: file) > 77 * 3_600)
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let error = #expect(throws: RenderError.self) {
        _ = try synthesizer.write(file, to: folder.appendingPathComponent("long.wav"), stopRequested: { false })
    }
    #expect(error == .tooLong(seconds: synthesizer.duration(of: file), limitMinutes: RenderLimit.defaultMinutes))
    let message = error.map { "\($0)" } ?? ""
    #expect(message.contains("--max-minutes") && message.contains("4660.4 minutes") && message.contains("60 minutes"))
    // Even the highest limit refuses it, and says that the limit cannot go higher.
    #expect(throws: RenderError.self) { try RenderLimit(minutes: 360).check(seconds: synthesizer.duration(of: file)) }
    #expect(names(in: folder).isEmpty)
}

@Test func theRenderLimitStaysInItsRangeAndNamesItsOption() throws {
    #expect(RenderLimit(minutes: 0).minutes == 1 && RenderLimit(minutes: 100_000).minutes == 360)
    try RenderLimit(minutes: 2).check(seconds: 120)
    let error = #expect(throws: RenderError.self) { try RenderLimit(minutes: 2).check(seconds: 121) }
    #expect(error.map { "\($0)" }?.contains("raise it with --max-minutes (at most 360)") == true)
    #expect(throws: RenderError.self) { try RenderLimit().check(seconds: .nan) }
    // 360 minutes of 16-bit stereo at 44.1 kHz still fits in a WAV file.
    #expect(RenderLimit.minutesRange.upperBound * 60 * 44_100 * 2 * 2 <= WAV.maximumDataBytes)
}

@Test func blockByBlockRenderingGivesTheOneShotSamples() throws {
    let synthesizer = PianoSynthesizer(sampleRate: 8_000)
    let piece = busyPiece()
    let whole = synthesizer.render(piece)
    #expect(whole.count == synthesizer.sampleIndex(synthesizer.duration(of: piece)))
    // Blocks of one sample, of sizes that cut attacks and releases anywhere, and larger than the piece.
    for blockLength in [1, 97, 4_096, 1 << 20] {
        var streamed: [Float] = []
        var sizes: [Int] = []
        try synthesizer.render(piece, blockLength: blockLength) {
            streamed += $0; sizes.append($0.count)
        }
        #expect(streamed == whole, "blocks of \(blockLength)")
        #expect(sizes.dropLast().allSatisfy { $0 == blockLength } && (sizes.last ?? 0) <= blockLength)
    }
}

@Test(.enabled(if: GenerationSharedData.isPresent))
func aRealPieceWrittenBlockByBlockIsTheOneShotFile() throws {
    let file = try MIDIFile(contentsOf: GenerationSharedData.pop909.appendingPathComponent("098.mid"))
    let synthesizer = PianoSynthesizer()
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("098.wav")
    let levels = try synthesizer.write(file, to: url, stopRequested: { false })
    let samples = synthesizer.render(file)
    #expect(try Data(contentsOf: url) == Data(WAV.encode(samples: samples, sampleRate: synthesizer.sampleRate)))
    #expect(levels == SignalLevels(samples: samples, sampleRate: synthesizer.sampleRate))
    #expect(names(in: folder) == ["098.wav"])
}

@Test func voicesOfOneKeyAtOneMomentComeInReleaseOrder() {
    // Sixteen channels strike one key together and release it one after another. Their order,
    // and so the float sums of the mix, used to follow a Dictionary's order, which changes from
    // run to run: the same file rendered twice differed in the last bit of some samples.
    let notes = (0..<16).map {
        Note(start: 0, end: 480 * (16 - $0), pitch: 60, velocity: 80, channel: $0 == 9 ? 15 : $0)
    }
    let voices = PianoSynthesizer.voices(in: MIDIFile(tracks: [Track(notes: notes)]))
    #expect(voices.count == 16)
    #expect(voices.map(\.release) == voices.map(\.release).sorted())
}

@Test func aStreamedWAVHasTheSizesOfTheSamplesWritten() throws {
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("blocks.wav")
    let blocks: [[Float]] = [[0, 1, -1], [0.5], [], [-0.25, 2]]
    let writer = try WAV.Writer(url: url, sampleRate: 22_050)
    for block in blocks { try writer.append(block) }
    #expect(!FileManager.default.fileExists(atPath: url.path))  // nothing at the name until commit
    try writer.commit()
    let bytes = [UInt8](try Data(contentsOf: url))
    func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
    #expect(bytes.count == 44 + 12)
    #expect(u32(4) == bytes.count - 8)  // RIFF size
    #expect(u32(40) == 12)  // data size: 6 samples of 2 bytes
    #expect(u32(24) == 22_050 && u32(28) == 44_100)
    #expect(bytes == WAV.encode(samples: blocks.flatMap { $0 }, sampleRate: 22_050))
    #expect(names(in: folder) == ["blocks.wav"])

    // A discarded writer leaves nothing, not even its temporary file.
    let other = try WAV.Writer(url: folder.appendingPathComponent("gone.wav"), sampleRate: 8_000)
    try other.append([0.1, 0.2])
    other.discard()
    #expect(names(in: folder) == ["blocks.wav"])
}

@Test func aStopBetweenBlocksLeavesNoFile() throws {
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var asked = 0
    #expect(throws: RenderError.stopped) {
        _ = try PianoSynthesizer(sampleRate: 8_000).write(
            busyPiece(), to: folder.appendingPathComponent("stop.wav"),
            stopRequested: {
                asked += 1; return asked > 1
            })
    }
    #expect(names(in: folder).isEmpty)
}

/// A stand-in `fluidsynth` running `script` (sh), with a SoundFont beside it, in `folder`.
private func fakeFluidSynth(in folder: URL, script: String) throws -> FluidSynth {
    let program = folder.appendingPathComponent("fluidsynth")
    // The file to write follows -F, as with the real program.
    let text =
        "#!/bin/sh\nwhile [ $# -gt 0 ]; do if [ \"$1\" = -F ]; then out=\"$2\"; fi; shift; done\n" + script + "\n"
    try Data(text.utf8).write(to: program)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program.path)
    let font = folder.appendingPathComponent("piano.sf2")
    try Data([0]).write(to: font)
    return FluidSynth(executable: program, soundFont: font)
}

@Test func fluidSynthWritesATemporaryFileThatIsRenamedOnlyOnSuccess() throws {
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let output = folder.appendingPathComponent("out")
    try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
    let midi = folder.appendingPathComponent("short.mid")
    try MIDIFile(tracks: [Track(notes: [Note(start: 0, end: 480, pitch: 60, velocity: 90)])]).write(to: midi)
    let wav = output.appendingPathComponent("short.wav")

    let working = try fakeFluidSynth(in: folder, script: "head -c 100 /dev/zero > \"$out\"")
    try working.render(midi: midi, to: wav, stopRequested: { false })
    #expect(names(in: output) == ["short.wav"])
    #expect(try Data(contentsOf: wav).count == 100)

    // A failure after writing part of its file: the error, the old file untouched, no part left.
    let failing = try fakeFluidSynth(in: folder, script: "head -c 60 /dev/zero > \"$out\"; echo broken; exit 3")
    let error = #expect(throws: RenderError.self) { try failing.render(midi: midi, to: wav, stopRequested: { false }) }
    #expect(error == .fluidSynthFailed(status: 3, output: "broken\n"))
    #expect(names(in: output) == ["short.wav"])
    #expect(try Data(contentsOf: wav).count == 100)
}

@Test func fluidSynthIsNotStartedForAPieceOverTheLimit() throws {
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let midi = folder.appendingPathComponent("long.mid")
    try longSpanFile().write(to: midi)
    let marker = folder.appendingPathComponent("started")
    let fluid = try fakeFluidSynth(in: folder, script: "touch \"\(marker.path)\"; head -c 100 /dev/zero > \"$out\"")
    let error = #expect(throws: RenderError.self) {
        try fluid.render(midi: midi, to: folder.appendingPathComponent("long.wav"), stopRequested: { false })
    }
    #expect(error.map { "\($0)" }?.contains("--max-minutes") == true)
    #expect(!FileManager.default.fileExists(atPath: marker.path))
    #expect(names(in: folder) == ["fluidsynth", "long.mid", "piano.sf2"])
}
