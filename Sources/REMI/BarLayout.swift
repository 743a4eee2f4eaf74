import MIDI

/// The bars the encoder lays a piece on, in internal ticks: equal bars of the config's length,
/// or with metres followed, bars as long as the file's time signatures say.
///
/// Kept as runs of equal bars, never one entry per bar, so a file that lasts billions of ticks
/// needs no memory in proportion. A time signature that falls inside a bar takes effect at the
/// next bar line: REMI has no token for a bar cut short.
struct BarLayout {
    /// Consecutive bars of one metre.
    struct Run: Equatable {
        /// Index of the run's first bar in the piece.
        var firstBar: Int
        /// Internal tick where the run's first bar starts.
        var start: Int
        /// Length of each bar, in internal ticks.
        var barTicks: Int
        /// The metre.
        var numerator: Int, denominator: Int
    }

    /// The runs, in order; the last one goes on for ever.
    private(set) var runs: [Run]

    /// Bars of `config.beatsPerBar` quarter notes from tick 0.
    init(uniform config: TokenizerConfig) {
        runs = [Run(firstBar: 0, start: 0, barTicks: config.ticksPerBar, numerator: config.beatsPerBar, denominator: 4)]
    }

    /// The bars of `file` (ticks per beat `division`) with its metres followed; throws
    /// `REMIError.unsupportedTimeSignature` for a metre outside the ones tokens name.
    init(following file: MIDIFile, division: Int, config: TokenizerConfig) throws {
        var signatures: [(tick: Int, numerator: Int, denominator: Int)] = []
        for signature in file.timeSignatures {
            guard TokenizerConfig.isSupportedMeter(numerator: signature.numerator, denominator: signature.denominator)
            else {
                throw REMIError.unsupportedTimeSignature(
                    tick: signature.tick, numerator: signature.numerator, denominator: signature.denominator)
            }
            // Onto the grid, as note onsets are, so a note on the bar line stays in its bar.
            let grid = config.gridTicks
            let tick = roundedHalfDown(max(signature.tick, 0) * config.ticksPerBeat, division * grid) * grid
            signatures.append((tick, signature.numerator, signature.denominator))
        }
        signatures.sort { $0.tick < $1.tick }
        if signatures.first.map({ $0.tick > 0 }) ?? true {
            signatures.insert((0, config.beatsPerBar, 4), at: 0)
        }
        var runs: [Run] = []
        var start = 0, bar = 0, i = 0
        while true {
            // The signature in force is the last one at or before the bar line.
            while i + 1 < signatures.count && signatures[i + 1].tick <= start { i += 1 }
            let (_, n, d) = signatures[i]
            let barTicks = n * config.ticksPerBeat * 4 / d
            if runs.last.map({ $0.numerator != n || $0.denominator != d }) ?? true {
                runs.append(Run(firstBar: bar, start: start, barTicks: barTicks, numerator: n, denominator: d))
            }
            guard i + 1 < signatures.count else { break }
            let bars = max(1, (signatures[i + 1].tick - start + barTicks - 1) / barTicks)
            start += bars * barTicks
            bar += bars
        }
        self.runs = runs
    }

    /// The run that holds bar `bar`.
    func run(ofBar bar: Int) -> Run {
        runs.last { $0.firstBar <= bar } ?? runs[0]
    }

    /// The internal tick where bar `bar` starts.
    func start(ofBar bar: Int) -> Int {
        let run = run(ofBar: bar)
        return run.start + (bar - run.firstBar) * run.barTicks
    }

    /// The bar that holds internal tick `tick` (at or after 0) and the tick it starts at.
    @inline(__always)
    func bar(containing tick: Int) -> (bar: Int, start: Int) {
        let run = runs.count == 1 ? runs[0] : runs.last { $0.start <= tick } ?? runs[0]
        let bar = run.firstBar + (tick - run.start) / run.barTicks
        return (bar, run.start + (bar - run.firstBar) * run.barTicks)
    }

    /// The metre that starts at bar `bar`, when the bar opens a run (bar 0 always does).
    func meterChange(atBar bar: Int) -> (numerator: Int, denominator: Int)? {
        if runs.count == 1 { return bar == 0 ? (runs[0].numerator, runs[0].denominator) : nil }
        return runs.first { $0.firstBar == bar }.map { ($0.numerator, $0.denominator) }
    }
}
