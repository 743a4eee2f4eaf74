import Foundation

/// The longest piece `cadenza render` makes, in minutes of sound.
///
/// A MIDI file a few bytes long can ask for days of sound (two notes 0x0FFFFFFF ticks apart),
/// and a WAV file can hold only 4 GiB of samples (its sizes are 32-bit), so a piece's length is
/// checked against the limit before anything is synthesised, written or allocated.
public struct RenderLimit: Equatable, Sendable {
    /// The limit unless the user sets one: longer than nearly any piece, short enough that a
    /// stray file does not fill a disk.
    public static let defaultMinutes = 60
    /// The limits that can be set. At the top, a 16-bit stereo WAV at 44.1 kHz (FluidSynth's;
    /// the built-in piano's is mono, half as large) still fits in the 4 GiB that a WAV's
    /// 32-bit sizes can describe.
    public static let minutesRange = 1...360
    /// The option that sets the limit, named in the error so the user knows what to change.
    public static let option = "--max-minutes"

    /// The longest piece accepted, in minutes.
    public let minutes: Int

    /// A limit of `minutes`, brought into `minutesRange`.
    public init(minutes: Int = defaultMinutes) {
        self.minutes = min(max(minutes, Self.minutesRange.lowerBound), Self.minutesRange.upperBound)
    }

    /// Throws `RenderError.tooLong` unless `seconds` of sound fit under the limit.
    public func check(seconds: Double) throws {
        guard seconds <= Double(minutes) * 60 else {
            throw RenderError.tooLong(seconds: seconds, limitMinutes: minutes)
        }
    }
}
