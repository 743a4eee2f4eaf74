import Basics
import Foundation

/// Writes RIFF WAVE files: mono or interleaved multi-channel 16-bit PCM (the canonical
/// 44-byte header: RIFF, "fmt " chunk with format 1, "data" chunk).
public enum WAV {
    /// The file bytes for `samples` in [-1, 1] (values beyond are clamped).
    public static func encode(samples: [Float], sampleRate: Int, channels: Int = 1) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(44 + samples.count * 2)
        func u32(_ v: Int) { for k in 0..<4 { out.append(UInt8((v >> (8 * k)) & 0xFF)) } }
        func u16(_ v: Int) { for k in 0..<2 { out.append(UInt8((v >> (8 * k)) & 0xFF)) } }
        let dataBytes = samples.count * 2
        out += Array("RIFF".utf8); u32(36 + dataBytes); out += Array("WAVE".utf8)
        out += Array("fmt ".utf8); u32(16)
        u16(1)                          // PCM
        u16(channels)
        u32(sampleRate)
        u32(sampleRate * channels * 2)  // bytes per second
        u16(channels * 2)               // bytes per frame
        u16(16)                         // bits per sample
        out += Array("data".utf8); u32(dataBytes)
        for x in samples {
            let v = Int((Double(min(max(x, -1), 1)) * 32767).rounded())
            u16(v & 0xFFFF)
        }
        return out
    }

    /// Writes `samples` as a 16-bit PCM WAV file at `url`, whole or not at all, converting
    /// them a block at a time so that no second copy of a long signal is made.
    public static func write(samples: [Float], sampleRate: Int, to url: URL) throws {
        try Interruption.whileWriting {
            let writer = try AtomicFile.Writer(url)
            do {
                try writer.append(Array(encode(samples: [], sampleRate: sampleRate).prefix(44)))
                let block = 1 << 16
                var bytes = [UInt8]()
                bytes.reserveCapacity(2 * block)
                for start in stride(from: 0, to: samples.count, by: block) {
                    bytes.removeAll(keepingCapacity: true)
                    for x in samples[start..<min(samples.count, start + block)] {
                        let v = Int((Double(min(max(x, -1), 1)) * 32767).rounded())
                        bytes.append(UInt8(v & 0xFF))
                        bytes.append(UInt8((v >> 8) & 0xFF))
                    }
                    try writer.append(bytes)
                }
                // The header's two sizes, now that the data's length is known.
                let dataBytes = 2 * samples.count
                func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
                try writer.overwrite(u32(36 + dataBytes), at: 4)
                try writer.overwrite(u32(dataBytes), at: 40)
                try writer.commit()
            } catch {
                writer.discard()
                throw error
            }
        }
    }
}

/// Loudness figures of a signal, to report what was written.
public struct SignalLevels: Equatable, Sendable {
    /// Largest absolute sample, in dB relative to full scale (-infinity for silence).
    public var peakDecibels: Double
    /// Root-mean-square level, in dB relative to full scale.
    public var rmsDecibels: Double
    /// Duration, in seconds.
    public var seconds: Double

    /// Measures `samples` at `sampleRate` Hz.
    public init(samples: [Float], sampleRate: Int) {
        var peak: Float = 0, sum = 0.0
        for x in samples { peak = max(peak, abs(x)); sum += Double(x) * Double(x) }
        peakDecibels = 20 * log10(Double(peak))
        rmsDecibels = 10 * log10(sum / Double(max(1, samples.count)))
        seconds = Double(samples.count) / Double(sampleRate)
    }
}
