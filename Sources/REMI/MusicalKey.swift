import Foundation

/// A major or minor key, as the `Key` control token names it (`C:maj`, `A:min`), and the
/// key-finding algorithm that labels a piece with one.
public struct MusicalKey: Hashable, Sendable {
    /// The tonic's pitch class, 0...11 (0 = C).
    public var tonic: Int
    /// Minor (true) or major (false).
    public var isMinor: Bool

    /// The number of keys: 12 tonics, major and minor.
    public static let count = 24

    /// A key; `tonic` is taken modulo 12.
    public init(tonic: Int, isMinor: Bool) {
        self.tonic = ((tonic % 12) + 12) % 12
        self.isMinor = isMinor
    }

    /// The key with token index `index` (tonic * 2, plus 1 for minor), or nil outside 0..<24.
    public init?(index: Int) {
        guard (0..<Self.count).contains(index) else { return nil }
        self.init(tonic: index / 2, isMinor: index % 2 == 1)
    }

    /// The token index: tonic * 2, plus 1 for minor.
    public var index: Int { tonic * 2 + (isMinor ? 1 : 0) }

    /// The name in REMI's chord spelling: `C:maj`, `F#:min`.
    public var name: String { ChordLabel.pitchClassNames[tonic] + (isMinor ? ":min" : ":maj") }

    /// Reads a key as a musician writes it: `A minor`, `a min`, `Am`, `A:min`, `Eb major`,
    /// `F#`, `C:maj` (a bare tonic is major). nil for anything else.
    public init?(parsing text: String) {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard let letter = rest.first?.uppercased(),
            let natural = ["C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11][letter]
        else { return nil }
        rest = rest.dropFirst()
        var tonic = natural
        if rest.first == "#" || rest.first == "♯" {
            tonic += 1
            rest = rest.dropFirst()
        } else if rest.first == "b" || rest.first == "♭" {
            tonic -= 1
            rest = rest.dropFirst()
        }
        let mode = rest.trimmingCharacters(in: CharacterSet(charactersIn: " :")).lowercased()
        switch mode {
        case "", "maj", "major": self.init(tonic: tonic, isMinor: false)
        case "m", "min", "minor": self.init(tonic: tonic, isMinor: true)
        default: return nil
        }
    }

    // Krumhansl and Kessler's key profiles (Krumhansl, "Cognitive Foundations of Musical
    // Pitch", 1990), index 0 = the tonic.
    private static let majorProfile: [Double] = [
        6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
    ]
    private static let minorProfile: [Double] = [
        6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
    ]

    /// The Krumhansl-Schmuckler key of a pitch-class histogram (weights such as total note
    /// duration per pitch class): the key whose rotated profile correlates best with it.
    /// nil when the histogram is flat (no notes). Ties go to the lower index.
    public static func estimate(pitchClassWeights weights: [Double]) -> MusicalKey? {
        guard weights.count == 12 else { return nil }
        let mean = weights.reduce(0, +) / 12
        let centred = weights.map { $0 - mean }
        let norm = centred.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else { return nil }
        var best: (key: MusicalKey, r: Double)?
        for index in 0..<count {
            let key = MusicalKey(tonic: index / 2, isMinor: index % 2 == 1)
            let profile = key.isMinor ? minorProfile : majorProfile
            let pm = profile.reduce(0, +) / 12
            var dot = 0.0, pn = 0.0
            for pc in 0..<12 {
                let p = profile[(pc - key.tonic + 12) % 12] - pm
                dot += p * centred[pc]
                pn += p * p
            }
            let r = dot / (pn.squareRoot() * norm)
            if r > (best?.r ?? -.infinity) { best = (key, r) }
        }
        return best?.key
    }
}
