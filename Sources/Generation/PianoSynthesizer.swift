import Basics
import Foundation
import MIDI

/// A small additive piano-like synthesizer, so that `cadenza render` makes a sound with nothing
/// installed. It is not a piano model; it aims at a plain, pleasant, clearly pitched tone.
///
/// Each note is a sum of up to six slightly stretched harmonics (string inharmonicity,
/// f_h = h f0 sqrt(1 + B h^2)), each decaying exponentially, higher harmonics and higher notes
/// faster, as struck strings do. Louder notes are louder (amplitude ~ (velocity/127)^2) and
/// brighter (slower harmonic roll-off). A note sounds from its onset until its key is released,
/// or, when the sustain pedal (CC 64 >= 64, on the note's channel) is down at that moment, until
/// the pedal comes up; striking the same key again also ends the earlier sound (one string per
/// key). After release the damper fades it out in about half a second. The mix is normalised so
/// its peak sits at `peakLevel`: never clipped, always audible.
///
/// Other instruments get a sketch of their General MIDI family's sound (`Timbre`: plucked,
/// bowed, blown, held), chosen by the program in force on the note's channel; drum-channel
/// notes get a drum sound by key.
public struct PianoSynthesizer: Sendable {
    /// Output sample rate, in Hz.
    public var sampleRate: Int
    /// Peak amplitude after normalisation, as a fraction of full scale (0.891 is -1 dBFS).
    public var peakLevel: Double

    /// Creates a synthesizer.
    public init(sampleRate: Int = 44_100, peakLevel: Double = 0.891) {
        self.sampleRate = max(8_000, sampleRate)
        self.peakLevel = min(max(peakLevel, 0.01), 1)
    }

    /// One note as the synthesizer plays it, in seconds.
    struct Voice: Equatable {
        var onset: Double
        /// When the damper falls (key up, pedal up, or the key struck again), seconds.
        var release: Double
        var pitch: Int
        var velocity: Int
        /// The General MIDI program that plays it, or `drums`.
        var instrument = 0
        /// For a drum another one cuts off, when (an open hi-hat when a closed or pedal hi-hat is
        /// struck, General MIDI's exclusive class); nil: a drum rings out.
        var chokedAt: Double?

        /// The `instrument` of a drum-channel note.
        static let drums = 128
    }

    /// The notes of `file` with their release times after the sustain pedal and re-strikes.
    static func voices(in file: MIDIFile) -> [Voice] {
        let map = file.tempoMap
        // A pedal never lifted holds its notes to the end of the file (End of Track), where the
        // music stops; it did only to the last note's end, damping a closing chord at once.
        let lastTick = max(file.tracks.flatMap { $0.notes.map(\.end) }.max() ?? 0, file.endTick)
        var pedal: [Int: [Range<Int>]] = [:]
        for channel in 0..<16 {
            pedal[channel] = SustainPedal.downSpans(in: file, channel: channel, until: lastTick + 1)
        }
        // Every note, grouped per (channel, pitch) to find re-strikes; a drum track's notes are
        // on the drum channel whatever their own.
        let notes = file.tracks.flatMap { track in
            track.notes.map { note in
                var n = note
                if track.isDrum { n.channel = GeneralMIDI.drumChannel }
                return n
            }
        }
        let programs = ProgramMap(file: file)
        let closedHats = notes.filter { $0.channel == GeneralMIDI.drumChannel && [42, 44].contains($0.pitch) }
            .map(\.start).sorted()
        var voices: [Voice] = []
        for (_, group) in Dictionary(grouping: notes, by: { $0.channel * 128 + $0.pitch }) {
            let sorted = group.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
            for (i, note) in sorted.enumerated() {
                var releaseTick = note.end
                if let span = pedal[note.channel]?.first(where: { $0.contains(note.end) }) {
                    releaseTick = span.upperBound
                }
                if let next = sorted[(i + 1)...].first(where: { $0.start > note.start }) {
                    releaseTick = min(releaseTick, next.start)
                }
                let onset = map.seconds(atTick: note.start)
                let isDrum = note.channel == GeneralMIDI.drumChannel
                let choke = isDrum && note.pitch == 46 ? closedHats.first { $0 > note.start } : nil
                voices.append(
                    Voice(
                        onset: onset, release: max(onset, map.seconds(atTick: releaseTick)),
                        pitch: note.pitch, velocity: note.velocity,
                        instrument: isDrum
                            ? Voice.drums : programs.program(onChannel: note.channel, atTick: note.start),
                        chokedAt: choke.map { map.seconds(atTick: $0) }))
            }
        }
        // A total order: voices are grouped through a Dictionary, whose order changes from run
        // to run, and voices added in another order sum to slightly different floats.
        return voices.sorted {
            ($0.onset, $0.pitch, $0.release, $0.velocity, $0.instrument)
                < ($1.onset, $1.pitch, $1.release, $1.velocity, $1.instrument)
        }
    }

    /// Time constant of the damper that falls on a released key, in seconds: -80 dB in about 0.75 s.
    static let dampingSeconds = 0.08
    /// Silence after the last voice stops, in seconds.
    static let closingSilence = 0.25

    /// When a voice stops sounding: at -80 dB of its own decay, or 0.6 s after its release.
    func ringEnd(_ voice: Voice) -> Double {
        guard let timbre = timbre(of: voice) else {
            return min(voice.release + 0.6, voice.onset + 9.2 * decaySeconds(pitch: voice.pitch))
        }
        let decays = timbre.partials.map { $0.decay.map { $0 * pitchFactor(voice.pitch, timbre) } }
        let slowest = decays.contains { $0 == nil } ? Double.infinity : decays.compactMap { $0 }.max() ?? 0
        if timbre.ignoresRelease {
            let natural = voice.onset + 9.2 * slowest
            return voice.chokedAt.map { min(natural, $0 + 0.6) } ?? natural
        }
        return min(voice.release + 0.6, voice.onset + 9.2 * slowest)
    }

    /// The timbre of a voice; nil for the piano family, the synthesizer's own piano.
    func timbre(of voice: Voice) -> Timbre? {
        if voice.instrument == Voice.drums { return .drum(pitch: voice.pitch) }
        return voice.instrument / 8 == 0 ? nil : .family(ofProgram: voice.instrument)
    }

    /// Decays scale with pitch as the piano's do (longer low, shorter high); a drum's do not.
    func pitchFactor(_ pitch: Int, _ timbre: Timbre) -> Double {
        timbre.fixedFrequencies ? 1 : decaySeconds(pitch: pitch) / decaySeconds(pitch: 60)
    }

    /// The sample at `seconds`, rounded down. Clamped, so that an absurd time cannot trap; the
    /// callers check a piece's length before they ask for memory.
    func sampleIndex(_ seconds: Double) -> Int {
        guard seconds > 0 else { return 0 }
        return Int(min(seconds * Double(sampleRate), 0x1p62))
    }

    /// Samples in the signal of `voices`: to the end of the last ring, plus the closing silence.
    func sampleCount(_ voices: [Voice]) -> Int {
        max(1, sampleIndex((voices.map(ringEnd).max() ?? 0) + Self.closingSilence))
    }

    /// Seconds of sound `render` makes for `file`, found without making it: check this against
    /// a limit before rendering a file of unknown length.
    public func duration(of file: MIDIFile) -> Double {
        (Self.voices(in: file).map(ringEnd).max() ?? 0) + Self.closingSilence
    }

    /// The mono signal of `file`, in [-peakLevel, peakLevel], at `sampleRate`, held whole in
    /// memory (4 bytes a sample). For a file of unknown length, check `duration(of:)` first,
    /// or use `render(_:blockLength:to:)`, whose memory does not grow with the piece.
    public func render(_ file: MIDIFile) -> [Float] {
        let voices = Self.voices(in: file)
        var mix = [Float](repeating: 0, count: sampleCount(voices))
        var mixer = Mixer(synthesizer: self, voices: voices, count: mix.count)
        mix.withUnsafeMutableBufferPointer { mixer.fill($0) }
        let peak = mix.reduce(Float(0)) { max($0, abs($1)) }
        if peak > 0 {
            let gain = Float(peakLevel) / peak
            for i in mix.indices { mix[i] *= gain }
        }
        return mix
    }

    /// The signal `render(file)` returns, handed to `receive` in consecutive blocks of
    /// `blockLength` samples (the last one shorter), sample for sample the same.
    ///
    /// The peak, which sets the normalising gain, is known only at the end, so the piece is
    /// synthesised twice: once to measure the peak, once to hand out the scaled blocks. Memory
    /// stays at one block plus the notes, whatever the piece's length.
    /// - Throws: `RenderError.stopped` when `stopRequested` answers true (it is asked before
    ///   each block of both passes), or what `receive` throws, which stops the rendering.
    public func render(
        _ file: MIDIFile, blockLength: Int = 1 << 16, stopRequested: () -> Bool = { false },
        to receive: ([Float]) throws -> Void
    ) throws {
        let voices = Self.voices(in: file)
        let count = sampleCount(voices)
        let blockLength = max(1, blockLength)
        // Synthesises the piece from its start, one block at a time, handing each to `use`.
        func synthesise(_ use: (inout [Float]) throws -> Void) throws {
            var mixer = Mixer(synthesizer: self, voices: voices, count: count)
            for start in stride(from: 0, to: count, by: blockLength) {
                if stopRequested() { throw RenderError.stopped }
                var block = [Float](repeating: 0, count: min(blockLength, count - start))
                block.withUnsafeMutableBufferPointer { mixer.fill($0) }
                try use(&block)
            }
        }
        var peak: Float = 0
        try synthesise { block in peak = block.reduce(peak) { max($0, abs($1)) } }
        let gain = Float(peakLevel) / peak
        try synthesise { block in
            if peak > 0 { for i in block.indices { block[i] *= gain } }
            try receive(block)
        }
    }

    /// Writes `file` as a 16-bit mono WAV at `url`, block by block, and returns the levels of
    /// what was written. The piece's length is checked against `limit` before anything is
    /// synthesised; the file appears only when complete (`WAV.Writer`).
    /// - Throws: `RenderError.tooLong` for a piece over the limit, `RenderError.stopped` when
    ///   `stopRequested` answers true between blocks (after Ctrl-C), `FileError` when the file cannot
    ///   be written. In each case nothing is left at `url`.
    public func write(
        _ file: MIDIFile, to url: URL, limit: RenderLimit = RenderLimit(),
        stopRequested: () -> Bool = { Interruption.isRequested }
    ) throws -> SignalLevels {
        try limit.check(seconds: duration(of: file))
        let wav = try WAV.Writer(url: url, sampleRate: sampleRate)
        var meter = SignalLevels.Meter()
        do {
            try render(file, stopRequested: stopRequested) { block in
                meter.add(block)
                try wav.append(block)
            }
            try wav.commit()
        } catch {
            wav.discard()
            throw error
        }
        return meter.levels(sampleRate: sampleRate)
    }

    /// Decay time constant of the fundamental, in seconds: about 2.5 s at middle C, longer in the
    /// bass (about 10 s at A0) and shorter in the treble (about 0.5 s at C8).
    func decaySeconds(pitch: Int) -> Double {
        2.5 * pow(261.63 / frequency(pitch: pitch), 0.6)
    }

    /// Equal-tempered frequency of a MIDI key (A4 = 69 = 440 Hz), in Hz.
    func frequency(pitch: Int) -> Double { 440 * pow(2, Double(pitch - 69) / 12) }
}

extension PianoSynthesizer {
    /// Plays voices into consecutive blocks of the signal. Each sounding harmonic keeps its
    /// oscillator between blocks, and every sample receives the same additions in the same
    /// order (voices in onset order, harmonics from the fundamental up) whatever the block
    /// size: one block of the whole piece and many small ones give identical floats.
    struct Mixer {
        /// One harmonic of a sounding voice: a phasor (c, s) rotated one step per sample, and its
        /// amplitude.
        struct Partial {
            var c = 1.0, s = 0.0
            var amplitude: Double
            let cosStep: Double, sinStep: Double
            /// Amplitude factor per sample before the release, and after it (with the damper).
            let decay: Double, damped: Double
        }

        /// A voice between its first and last sample.
        struct Sounding {
            /// First sample, end of the attack ramp, release sample, and the sample after the last.
            let first: Int, attackEnd: Int, holdEnd: Int, last: Int
            let attackSamples: Double
            var partials: [Partial]
        }

        let synthesizer: PianoSynthesizer
        let voices: [Voice]
        /// Samples in the whole signal.
        let count: Int
        /// The first sample of the next block.
        private(set) var position = 0
        /// The next voice that has not started.
        private var nextVoice = 0
        private var sounding: [Sounding] = []

        init(synthesizer: PianoSynthesizer, voices: [Voice], count: Int) {
            self.synthesizer = synthesizer
            self.voices = voices
            self.count = count
        }

        /// Adds the next `out.count` samples of every voice to `out`.
        mutating func fill(_ out: UnsafeMutableBufferPointer<Float>) {
            let blockStart = position, blockEnd = position + out.count
            // Voices are sorted by onset, so the sounding list stays in voice order.
            while nextVoice < voices.count, synthesizer.sampleIndex(voices[nextVoice].onset) < blockEnd {
                if let voice = start(voices[nextVoice]) { sounding.append(voice) }
                nextVoice += 1
            }
            // The part of a voice's stretch that falls in this block.
            func clipped(_ lower: Int, _ upper: Int) -> Range<Int> {
                let from = max(blockStart, lower)
                return from..<max(from, min(blockEnd, upper))
            }
            func play(_ voice: inout Sounding) {
                for p in voice.partials.indices {
                    var q = voice.partials[p]
                    // Three stretches with no per-sample branching: attack ramp, held, damped.
                    for i in clipped(voice.first, voice.attackEnd) {
                        out[i - blockStart] += Float(
                            q.amplitude * (Double(i - voice.first) / voice.attackSamples) * q.s)
                        (q.c, q.s) = (q.c * q.cosStep - q.s * q.sinStep, q.s * q.cosStep + q.c * q.sinStep)
                        q.amplitude *= q.decay
                    }
                    for i in clipped(voice.attackEnd, voice.holdEnd) {
                        out[i - blockStart] += Float(q.amplitude * q.s)
                        (q.c, q.s) = (q.c * q.cosStep - q.s * q.sinStep, q.s * q.cosStep + q.c * q.sinStep)
                        q.amplitude *= q.decay
                    }
                    for i in clipped(voice.holdEnd, voice.last) {
                        out[i - blockStart] += Float(q.amplitude * q.s)
                        (q.c, q.s) = (q.c * q.cosStep - q.s * q.sinStep, q.s * q.cosStep + q.c * q.sinStep)
                        q.amplitude *= q.damped
                    }
                    voice.partials[p] = q
                }
            }
            for v in sounding.indices { play(&sounding[v]) }
            sounding.removeAll { $0.last <= blockEnd }
            position = blockEnd
        }

        /// The oscillators of `voice`, or nil when it makes no sample.
        private func start(_ voice: Voice) -> Sounding? {
            let rate = Double(synthesizer.sampleRate)
            let first = synthesizer.sampleIndex(voice.onset)
            let last = min(count, synthesizer.sampleIndex(synthesizer.ringEnd(voice)))
            guard first < last else { return nil }
            let f0 = synthesizer.frequency(pitch: voice.pitch)
            let loudness = Double(min(max(voice.velocity, 1), 127)) / 127
            let dampingFactor = exp(-1 / (PianoSynthesizer.dampingSeconds * rate))
            if let timbre = synthesizer.timbre(of: voice) {
                let scale = synthesizer.pitchFactor(voice.pitch, timbre)
                let total = timbre.partials.reduce(0) { $0 + $1.level }
                var partials: [Partial] = []
                for partial in timbre.partials where partial.level > 0 {
                    let f = timbre.fixedFrequencies ? partial.ratio : partial.ratio * f0
                    guard f < 0.45 * rate else { break }
                    let step = 2 * Double.pi * f / rate
                    let decay = partial.decay.map { exp(-1 / ($0 * scale * rate)) } ?? 1
                    partials.append(
                        Partial(
                            amplitude: loudness * loudness * partial.level / max(total, 1),
                            cosStep: cos(step), sinStep: sin(step), decay: decay, damped: decay * dampingFactor))
                }
                let attackSamples = max(1, timbre.attackSeconds * rate)
                let attackEnd = min(last, first + Int(attackSamples))
                let release =
                    timbre.ignoresRelease
                    ? (voice.chokedAt.map(synthesizer.sampleIndex) ?? last) : synthesizer.sampleIndex(voice.release)
                return Sounding(
                    first: first, attackEnd: attackEnd, holdEnd: min(last, max(attackEnd, release)), last: last,
                    attackSamples: attackSamples, partials: partials)
            }
            let rolloff = 1.8 - 0.9 * loudness  // harmonic h has amplitude 1 / h^rolloff
            let tau = synthesizer.decaySeconds(pitch: voice.pitch)
            let inharmonicity = 0.0004
            let attackSamples = 0.003 * rate
            var partials: [Partial] = []
            for h in 1...6 {
                let fh = Double(h) * f0 * (1 + inharmonicity * Double(h * h)).squareRoot()
                guard fh < 0.45 * rate else { break }
                // Rotate (c, s) by the phase step each sample: a sine without calling sin().
                let step = 2 * Double.pi * fh / rate
                let decay = exp(-1 / (tau / (1 + 0.6 * Double(h - 1)) * rate))
                partials.append(
                    Partial(
                        amplitude: loudness * loudness / pow(Double(h), rolloff),
                        cosStep: cos(step), sinStep: sin(step), decay: decay, damped: decay * dampingFactor))
            }
            let attackEnd = min(last, first + Int(attackSamples))
            let holdEnd = min(last, max(attackEnd, synthesizer.sampleIndex(voice.release)))
            return Sounding(
                first: first, attackEnd: attackEnd, holdEnd: holdEnd, last: last,
                attackSamples: attackSamples, partials: partials)
        }
    }
}
