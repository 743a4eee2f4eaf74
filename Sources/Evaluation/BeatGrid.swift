import MIDI

/// Note onsets placed on the REMI grid (docs/remi.md: 4/4 bars of 16 sixteenth-note
/// positions, onsets snapped to the nearest step, ties to the earlier step), and the beat and
/// downbeat statistics read from it.
///
/// The REMI paper (Huang & Yang 2020, "Pop Music Transformer", section 5) judges rhythm with
/// an audio beat tracker (madmom): the standard deviation of beat and downbeat intervals and the
/// "downbeat salience". Without audio, these symbolic counterparts ask the same questions of
/// the notes: do onsets fall on beats, are downbeats marked, how far from the grid are notes?
struct BeatGrid {
    /// Share of onsets at each of the 16 positions of the bar.
    let positionShares: [Double]
    /// Share of onsets on a beat (positions 1, 5, 9, 13 of 16).
    let onBeatRate: Double
    /// Share of onsets on the first beat of the bar (position 1).
    let downbeatRate: Double
    /// Velocity-weighted onsets on beat 1 divided by their mean over the four beats: 1 means
    /// the downbeat is no stronger than any beat, up to 4 when only downbeats are played.
    let downbeatSalience: Double
    /// Mean distance of an onset from its nearest grid step, in sixteenths (0 = quantised,
    /// 0.25 = uniformly spread).
    let meanDeviation: Double

    init(_ notes: [Note], resolution: Int) {
        var counts = [Double](repeating: 0, count: 16)
        var strength = [Double](repeating: 0, count: 16)
        var deviation = 0.0
        for note in notes {
            let sixteenths = Double(note.start) * 4 / Double(resolution)
            let step = (sixteenths - 0.5).rounded(.up)  // nearest step, ties to the earlier
            deviation += abs(sixteenths - step)
            let position = ((Int(step) % 16) + 16) % 16
            counts[position] += 1
            strength[position] += Double(note.velocity)
        }
        let n = Double(notes.count)
        positionShares = counts.map { n > 0 ? $0 / n : 0 }
        onBeatRate = n > 0 ? (counts[0] + counts[4] + counts[8] + counts[12]) / n : .nan
        downbeatRate = n > 0 ? counts[0] / n : .nan
        let beatMean = (strength[0] + strength[4] + strength[8] + strength[12]) / 4
        downbeatSalience = beatMean > 0 ? strength[0] / beatMean : .nan
        meanDeviation = n > 0 ? deviation / n : .nan
    }
}
