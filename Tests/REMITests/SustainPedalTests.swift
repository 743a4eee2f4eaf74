import MIDI
import Testing
@testable import REMI

/// `sustainPedal: extendNotes`: note ends under a held pedal move to its release.
@Suite struct SustainPedalTests {
    @Test func heldNotesLastUntilThePedalLiftsOrTheKeyIsStruckAgain() {
        let pedal = [
            ControlChange(tick: 100, controller: 64, value: 100), ControlChange(tick: 200, controller: 64, value: 90),
            ControlChange(tick: 1000, controller: 64, value: 0), ControlChange(tick: 1500, controller: 64, value: 127),
        ]
        let notes = [
            Note(start: 0, end: 50, pitch: 60, velocity: 80),  // released before the pedal: unchanged
            Note(start: 0, end: 300, pitch: 62, velocity: 80),  // released under the pedal: to 1000
            Note(start: 0, end: 300, pitch: 64, velocity: 80),  // struck again at 600: cut there
            Note(start: 600, end: 700, pitch: 64, velocity: 80),  // the re-strike itself: to 1000
            Note(start: 0, end: 300, pitch: 65, velocity: 80, channel: 1),  // other channel: unchanged
            Note(start: 1200, end: 1600, pitch: 67, velocity: 80),  // pedal down at 1500 and never up: file end
            Note(start: 0, end: 1000, pitch: 69, velocity: 80),  // released exactly as the pedal lifts: unchanged
            Note(start: 1700, end: 1800, pitch: 71, velocity: 80),
        ]
        let ends = SustainPedal.apply(to: notes, controlChanges: pedal).map(\.end)
        #expect(ends == [50, 1000, 600, 1000, 300, 1800, 1000, 1800])
        #expect(SustainPedal.apply(to: notes, controlChanges: []) == notes)
    }
}
