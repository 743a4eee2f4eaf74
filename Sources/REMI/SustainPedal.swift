import MIDI

/// The sustain pedal (controller 64) applied to note ends, for `SustainPolicy.extendNotes`.
enum SustainPedal {
    /// `notes` with every note that is released while its channel's pedal is down lengthened
    /// to the pedal's release, but never past the next onset of the same pitch on the same
    /// channel (a re-struck key cuts the sustained note). Value >= 64 is down. A pedal still
    /// down at the end releases at the last note end or controller tick of the file.
    static func apply(to notes: [Note], controlChanges: [ControlChange]) -> [Note] {
        let pedal = controlChanges.enumerated()
            .filter { $0.element.controller == 64 }
            .sorted { ($0.element.tick, $0.offset) < ($1.element.tick, $1.offset) }
            .map(\.element)
        guard !pedal.isEmpty else { return notes }
        let fileEnd = max(notes.reduce(0) { max($0, $1.end) }, pedal.last?.tick ?? 0)
        // Pedal-down spans [down, up) per channel.
        var spans = [[(down: Int, up: Int)]](repeating: [], count: 16)
        var downSince = [Int?](repeating: nil, count: 16)
        for cc in pedal where (0..<16).contains(cc.channel) {
            if cc.value >= 64 {
                if downSince[cc.channel] == nil { downSince[cc.channel] = cc.tick }
            } else if let down = downSince[cc.channel] {
                spans[cc.channel].append((down, cc.tick))
                downSince[cc.channel] = nil
            }
        }
        for channel in 0..<16 { if let down = downSince[channel] { spans[channel].append((down, fileEnd)) } }

        // The next onset of the same key on the same channel, for each note.
        var order = Array(notes.indices)
        order.sort { a, b in
            let x = notes[a], y = notes[b]
            return (x.channel, x.pitch, x.start, a) < (y.channel, y.pitch, y.start, b)
        }
        var nextOnset = [Int](repeating: Int.max, count: notes.count)
        for (i, j) in zip(order, order.dropFirst())
        where notes[i].channel == notes[j].channel && notes[i].pitch == notes[j].pitch {
            nextOnset[i] = notes[j].start
        }

        var result = notes
        for i in result.indices {
            let note = result[i]
            guard (0..<16).contains(note.channel) else { continue }
            let channelSpans = spans[note.channel]
            // Last span whose pedal went down at or before the release.
            var lo = 0, hi = channelSpans.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if channelSpans[mid].down <= note.end { lo = mid + 1 } else { hi = mid }
            }
            guard lo > 0 else { continue }
            let span = channelSpans[lo - 1]
            guard note.end < span.up else { continue }
            let cut = nextOnset[i] > note.start ? nextOnset[i] : Int.max
            result[i].end = max(note.end, min(span.up, cut))
        }
        return result
    }
}
