import Foundation
import MIDI

// The JSON the page and the server exchange (docs/studio-api.md, "Types"). Times inside a
// piece are in beats from its start; bars count from 1.

/// One note, in beats.
public struct NoteJSON: Codable, Equatable, Sendable {
    /// Index into the take's `tracks`.
    public var track: Int
    /// MIDI note number.
    public var pitch: Int
    /// 1...127.
    public var velocity: Int
    /// Beats from the start of the piece.
    public var start: Double
    /// Beats from the start of the piece, after `start`.
    public var end: Double
}

/// One track: its name and General MIDI sound.
public struct TrackJSON: Codable, Equatable, Sendable {
    /// The track's name.
    public var name: String
    /// General MIDI program, 0...127.
    public var program: Int
    /// Whether it plays on the drum channel.
    public var isDrum: Bool
}

/// One bar: where it starts and how many quarter notes it holds.
public struct BarJSON: Codable, Equatable, Sendable {
    /// Beats from the start of the piece.
    public var start: Double
    /// Quarter notes in the bar.
    public var beats: Double
}

/// A tempo from a beat on.
public struct TempoJSON: Codable, Equatable, Sendable {
    /// Beats from the start of the piece.
    public var beat: Double
    /// Beats per minute.
    public var bpm: Double
}

/// The first bars of a take to continue.
public struct PromptChoice: Codable, Equatable, Sendable {
    /// The take.
    public var take: String
    /// How many of its first bars to keep.
    public var bars: Int
}

/// Bars of a take to rewrite.
public struct InfillChoice: Codable, Equatable, Sendable {
    /// The take.
    public var take: String
    /// The first and last bar to rewrite, 1-based, inclusive.
    public var first: Int, last: Int
}

/// A request for a take (POST /api/takes), echoed back with the defaults filled in.
public struct TakeSettings: Codable, Equatable, Sendable {
    /// The model's name, as GET /api/models lists it.
    public var model: String
    /// New bars to write (nil for an infill).
    public var bars: Int?
    /// The seed of every random draw.
    public var seed: Int?
    /// Sampling temperature.
    public var temperature: Double?
    /// Nucleus sampling's probability mass.
    public var topP: Double?
    /// A chord progression in REMI's names.
    public var chords: String?
    /// Nats of penalty on notes outside the chords.
    public var harmonyGuidance: Double?
    /// A style the model knows.
    public var style: String?
    /// A key, as "A minor".
    public var key: String?
    /// sparse, medium or dense.
    public var density: String?
    /// Beats per minute.
    public var tempo: Int?
    /// The bars of a take to continue.
    public var prompt: PromptChoice?
    /// The bars of a take to rewrite.
    public var infill: InfillChoice?
}

/// A take as the page shows it (GET /api/takes/{id}).
public struct TakeJSON: Codable, Equatable, Sendable {
    /// Short URL-safe id.
    public var id: String
    /// queued, writing, done or failed.
    public var status: String
    /// 0: running now or not queued; N: N-th in line.
    public var queuePosition: Int
    /// Why it failed, else nil.
    public var error: String?
    /// What was asked (nil for an upload).
    public var settings: TakeSettings?
    /// generated or upload.
    public var source: String
    /// What the page shows.
    public var name: String
    /// The tracks that hold notes.
    public var tracks: [TrackJSON]
    /// Every note, sorted by start.
    public var notes: [NoteJSON]
    /// Every bar, trailing empty ones included.
    public var bars: [BarJSON]
    /// Piecewise-constant tempo.
    public var tempos: [TempoJSON]
    /// The piece's length.
    public var seconds: Double

    /// Every key on every take, `error` and `settings` as null where there is none, as the
    /// API describes a take (the synthesised encoder leaves nil out).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(status, forKey: .status)
        try c.encode(queuePosition, forKey: .queuePosition)
        try c.encode(error, forKey: .error)
        try c.encode(settings, forKey: .settings)
        try c.encode(source, forKey: .source)
        try c.encode(name, forKey: .name)
        try c.encode(tracks, forKey: .tracks)
        try c.encode(notes, forKey: .notes)
        try c.encode(bars, forKey: .bars)
        try c.encode(tempos, forKey: .tempos)
        try c.encode(seconds, forKey: .seconds)
    }
}

/// A MIDI file seen as the page draws it: tracks with notes, notes in beats, bars and tempos.
public struct PieceView: Equatable, Sendable {
    /// The tracks that hold notes.
    public var tracks: [TrackJSON]
    /// Every note, sorted by start.
    public var notes: [NoteJSON]
    /// Every bar.
    public var bars: [BarJSON]
    /// Piecewise-constant tempo.
    public var tempos: [TempoJSON]
    /// The piece's length.
    public var seconds: Double

    /// `file` with bars of `beatsPerBar` quarter notes (the model's grid), at least
    /// `minimumBars` of them.
    public init(file: MIDIFile, beatsPerBar: Int, minimumBars: Int = 0) {
        let division = Double(max(file.ticksPerBeat ?? 480, 1))
        var tracks: [TrackJSON] = []
        var notes: [NoteJSON] = []
        for track in file.tracks where !track.notes.isEmpty {
            let index = tracks.count
            let program = track.programChanges.first?.program ?? 0
            tracks.append(
                TrackJSON(name: track.name ?? "Track \(index + 1)", program: program, isDrum: track.isDrum))
            notes += track.notes.map {
                NoteJSON(
                    track: index, pitch: $0.pitch, velocity: $0.velocity, start: Double($0.start) / division,
                    end: Double(max($0.end, $0.start + 1)) / division)
            }
        }
        notes.sort { ($0.start, $0.track, $0.pitch) < ($1.start, $1.track, $1.pitch) }
        let beats = Double(max(beatsPerBar, 1))
        let count = max(Self.barCount(of: file, beatsPerBar: beatsPerBar), minimumBars)
        self.tracks = tracks
        self.notes = notes
        self.bars = (0..<count).map { BarJSON(start: Double($0) * beats, beats: beats) }
        self.tempos = file.tempoChanges.sorted { $0.tick < $1.tick }.map {
            TempoJSON(beat: Double($0.tick) / division, bpm: ($0.bpm * 100).rounded() / 100)
        }
        self.seconds = file.seconds
    }

    /// The bars the view of `file` has with bars of `beatsPerBar` quarter notes, as the model
    /// counts them: up to the last note's start (a note ringing on past the last bar opens no
    /// bar of its own), at least one. Cheap, so that a file can be refused before its view, one
    /// entry per bar, is built.
    public static func barCount(of file: MIDIFile, beatsPerBar: Int) -> Int {
        let ticksPerBar = Double(max(file.ticksPerBeat ?? 480, 1)) * Double(max(beatsPerBar, 1))
        let lastStart = file.tracks.lazy.flatMap(\.notes).map(\.start).max() ?? 0
        return Int((Double(lastStart) / ticksPerBar).rounded(.down)) + 1
    }

    /// The notes that start in bar `bar` (1-based).
    public func notes(inBar bar: Int) -> [NoteJSON] {
        guard bars.indices.contains(bar - 1) else { return [] }
        let range = bars[bar - 1].start..<(bars[bar - 1].start + bars[bar - 1].beats)
        return notes.filter { range.contains($0.start) }
    }
}
