/// The General MIDI Level 1 sound set: the names of the 128 programs and of their 16 families
/// of eight, as the MIDI Manufacturers Association lists them.
public enum GeneralMIDI {
    /// The MIDI channel (0-based) that plays percussion: channel 10.
    public static let drumChannel = 9

    /// The families, one per eight programs: program p belongs to `families[p / 8]`.
    public static let families = [
        "Piano", "Chromatic Percussion", "Organ", "Guitar", "Bass", "Strings", "Ensemble", "Brass", "Reed", "Pipe",
        "Synth Lead", "Synth Pad", "Synth Effects", "Ethnic", "Percussive", "Sound Effects",
    ]

    /// The program names, by program number 0...127.
    public static let programNames = [
        "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
        "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet",
        "Celesta", "Glockenspiel", "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
        "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion", "Harmonica",
        "Tango Accordion",
        "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)", "Electric Guitar (clean)",
        "Electric Guitar (muted)", "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics",
        "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
        "Slap Bass 2", "Synth Bass 1", "Synth Bass 2",
        "Violin", "Viola", "Cello", "Contrabass", "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp",
        "Timpani",
        "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs",
        "Synth Voice", "Orchestra Hit",
        "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn", "Brass Section", "Synth Brass 1",
        "Synth Brass 2",
        "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet",
        "Piccolo", "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
        "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)", "Lead 5 (charang)",
        "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
        "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)",
        "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)",
        "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)",
        "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)",
        "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba", "Bagpipe", "Fiddle", "Shanai",
        "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum", "Melodic Tom", "Synth Drum",
        "Reverse Cymbal",
        "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
        "Gunshot",
    ]

    /// The name of program `program` (0...127), or "Program n" outside the range.
    public static func name(ofProgram program: Int) -> String {
        programNames.indices.contains(program) ? programNames[program] : "Program \(program)"
    }
}

/// The General MIDI program in force on each channel over time, as a synthesiser hears a file:
/// the last program change on the channel at or before a tick, from any track (file order
/// breaks ties at one tick); program 0 before the first.
public struct ProgramMap: Sendable {
    /// Program changes per channel, by tick.
    private let changes: [[(tick: Int, program: Int)]]

    /// The program map of `file`.
    public init(file: MIDIFile) {
        var changes = [[(tick: Int, program: Int)]](repeating: [], count: 16)
        for track in file.tracks {
            for change in track.programChanges where (0...15).contains(change.channel) {
                changes[change.channel].append((change.tick, min(max(change.program, 0), 127)))
            }
        }
        self.changes = changes.map { list in
            list.enumerated().sorted { ($0.element.tick, $0.offset) < ($1.element.tick, $1.offset) }.map(\.element)
        }
    }

    /// The program on `channel` at `tick` (0 for a channel outside 0...15).
    public func program(onChannel channel: Int, atTick tick: Int) -> Int {
        guard (0...15).contains(channel) else { return 0 }
        let list = changes[channel]
        // The last change at or before the tick: binary search for the first one after it.
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid].tick <= tick { low = mid + 1 } else { high = mid }
        }
        return low > 0 ? list[low - 1].program : 0
    }
}
