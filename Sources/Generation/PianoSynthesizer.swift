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
/// its peak sits at `peakLevel`: never clipped, always audible. Drum-channel notes are skipped.
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
    }

    /// The notes of `file` with their release times after the sustain pedal and re-strikes.
    static func voices(in file: MIDIFile) -> [Voice] {
        let map = file.tempoMap
        let lastTick = file.tracks.flatMap { $0.notes.map(\.end) }.max() ?? 0
        var pedal: [Int: [Range<Int>]] = [:]
        for channel in 0..<16 {
            pedal[channel] = SustainPedal.downSpans(in: file, channel: channel, until: lastTick + 1)
        }
        // All non-drum notes, grouped per (channel, pitch) to find re-strikes.
        let notes = file.tracks.filter { !$0.isDrum }.flatMap { $0.notes }.filter { $0.channel != 9 }
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
                voices.append(Voice(onset: onset, release: max(onset, map.seconds(atTick: releaseTick)),
                                    pitch: note.pitch, velocity: note.velocity))
            }
        }
        return voices.sorted { ($0.onset, $0.pitch) < ($1.onset, $1.pitch) }
    }

    /// How long the rendered signal of `file` lasts, in seconds (the last voice's ring-out
    /// included), computed without rendering it.
    public func seconds(of file: MIDIFile) -> Double {
        (Self.voices(in: file).map(ringEnd).max() ?? 0) + 0.25
    }

    /// How long a voice rings: until -80 dB of its own decay, or 0.6 s after release.
    private func ringEnd(_ v: Voice) -> Double {
        min(v.release + 0.6, v.onset + 9.2 * decaySeconds(pitch: v.pitch))
    }

    /// The mono signal of `file`, in [-peakLevel, peakLevel], at `sampleRate`.
    /// - Throws: `RenderError.tooLong` before allocating anything when the signal would last
    ///   longer than `maximumSeconds`.
    public func render(_ file: MIDIFile, maximumSeconds: Double = 3_600) throws -> [Float] {
        let voices = Self.voices(in: file)
        let rate = Double(sampleRate)
        let dampingSeconds = 0.08  // damper time constant: -80 dB in about 0.75 s
        let end = (voices.map(ringEnd).max() ?? 0) + 0.25
        guard end <= maximumSeconds else { throw RenderError.tooLong(seconds: end, limit: maximumSeconds) }
        var mix = [Float](repeating: 0, count: max(1, Int(end * rate)))
        mix.withUnsafeMutableBufferPointer { out in
            for voice in voices { add(voice, until: ringEnd(voice), damping: dampingSeconds, to: out) }
        }
        let peak = mix.reduce(Float(0)) { max($0, abs($1)) }
        if peak > 0 {
            let gain = Float(peakLevel) / peak
            for i in mix.indices { mix[i] *= gain }
        }
        return mix
    }

    /// Decay time constant of the fundamental, in seconds: about 2.5 s at middle C, longer in the
    /// bass (about 10 s at A0) and shorter in the treble (about 0.5 s at C8).
    func decaySeconds(pitch: Int) -> Double {
        2.5 * pow(261.63 / frequency(pitch: pitch), 0.6)
    }

    /// Equal-tempered frequency of a MIDI key (A4 = 69 = 440 Hz), in Hz.
    func frequency(pitch: Int) -> Double { 440 * pow(2, Double(pitch - 69) / 12) }

    private func add(_ voice: Voice, until stop: Double, damping: Double, to out: UnsafeMutableBufferPointer<Float>) {
        let rate = Double(sampleRate)
        let first = max(0, Int(voice.onset * rate))
        let last = min(out.count, Int(stop * rate))
        guard first < last else { return }
        let releaseSample = Int(voice.release * rate)
        let f0 = frequency(pitch: voice.pitch)
        let loudness = Double(min(max(voice.velocity, 1), 127)) / 127
        let rolloff = 1.8 - 0.9 * loudness  // harmonic h has amplitude 1 / h^rolloff
        let tau = decaySeconds(pitch: voice.pitch)
        let inharmonicity = 0.0004
        let attackSamples = 0.003 * rate
        let dampingFactor = exp(-1 / (damping * rate))
        for h in 1...6 {
            let fh = Double(h) * f0 * (1 + inharmonicity * Double(h * h)).squareRoot()
            guard fh < 0.45 * rate else { break }
            // Rotate (c, s) by the phase step each sample: a sine without calling sin().
            let step = 2 * Double.pi * fh / rate
            let cosStep = cos(step), sinStep = sin(step)
            var c = 1.0, s = 0.0
            var amplitude = loudness * loudness / pow(Double(h), rolloff)
            let decay = exp(-1 / (tau / (1 + 0.6 * Double(h - 1)) * rate))
            // Three stretches with no per-sample branching: attack ramp, held, damped.
            let attackEnd = min(last, first + Int(attackSamples))
            let holdEnd = min(last, max(attackEnd, releaseSample))
            for i in first..<attackEnd {
                out[i] += Float(amplitude * (Double(i - first) / attackSamples) * s)
                (c, s) = (c * cosStep - s * sinStep, s * cosStep + c * sinStep)
                amplitude *= decay
            }
            for i in attackEnd..<holdEnd {
                out[i] += Float(amplitude * s)
                (c, s) = (c * cosStep - s * sinStep, s * cosStep + c * sinStep)
                amplitude *= decay
            }
            let damped = decay * dampingFactor
            for i in holdEnd..<last {
                out[i] += Float(amplitude * s)
                (c, s) = (c * cosStep - s * sinStep, s * cosStep + c * sinStep)
                amplitude *= damped
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
