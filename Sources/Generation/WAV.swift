import Basics
import Foundation

/// Writes RIFF WAVE files: mono or interleaved multi-channel 16-bit PCM (the canonical
/// 44-byte header: RIFF, "fmt " chunk with format 1, "data" chunk).
public enum WAV {
    /// The most bytes of samples a file can hold: the RIFF size field, 36 + data bytes, is 32-bit.
    public static let maximumDataBytes = Int(UInt32.max) - 36

    /// The file bytes for `samples` in [-1, 1] (values beyond are clamped).
    public static func encode(samples: [Float], sampleRate: Int, channels: Int = 1) -> [UInt8] {
        var out = header(dataBytes: samples.count * 2, sampleRate: sampleRate, channels: channels)
        out.reserveCapacity(44 + samples.count * 2)
        appendPCM(samples, to: &out)
        return out
    }

    /// The 44-byte header of a file with `dataBytes` bytes of samples.
    static func header(dataBytes: Int, sampleRate: Int, channels: Int) -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: Int) { for k in 0..<4 { out.append(UInt8((v >> (8 * k)) & 0xFF)) } }
        func u16(_ v: Int) { for k in 0..<2 { out.append(UInt8((v >> (8 * k)) & 0xFF)) } }
        out += Array("RIFF".utf8); u32(36 + dataBytes); out += Array("WAVE".utf8)
        out += Array("fmt ".utf8); u32(16)
        u16(1)  // PCM
        u16(channels)
        u32(sampleRate)
        u32(sampleRate * channels * 2)  // bytes per second
        u16(channels * 2)  // bytes per frame
        u16(16)  // bits per sample
        out += Array("data".utf8); u32(dataBytes)
        return out
    }

    /// Appends `samples` as 16-bit little-endian PCM, clamped to [-1, 1].
    static func appendPCM(_ samples: [Float], to out: inout [UInt8]) {
        for x in samples {
            let v = Int((Double(min(max(x, -1), 1)) * 32767).rounded())
            out.append(UInt8(v & 0xFF))
            out.append(UInt8((v >> 8) & 0xFF))
        }
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

    /// A WAV file written block by block, for a signal too long to hold whole. The header goes
    /// first with sizes of zero and is rewritten with the real ones by `commit()`; the file
    /// appears at its name only then (`AtomicFile.Writer`). Call `discard()` on failure.
    public final class Writer {
        private let file: AtomicFile.Writer
        private let sampleRate: Int, channels: Int
        /// Bytes of samples appended so far.
        public private(set) var dataBytes = 0

        /// Starts the hidden temporary file for `url`.
        /// - Throws: `FileError.cannotWrite` when it cannot be created.
        public init(url: URL, sampleRate: Int, channels: Int = 1) throws {
            file = try AtomicFile.Writer(url)
            self.sampleRate = sampleRate
            self.channels = channels
            do {
                try file.append(WAV.header(dataBytes: 0, sampleRate: sampleRate, channels: channels))
            } catch {
                file.discard()
                throw error
            }
        }

        /// Appends `samples` (interleaved when there are several channels).
        /// - Throws: `FileError.cannotWrite` when the disk refuses them, or when they would take
        ///   the file past the 4 GiB a WAV can describe.
        public func append(_ samples: [Float]) throws {
            guard dataBytes + samples.count * 2 <= WAV.maximumDataBytes else {
                throw FileError.cannotWrite(path: file.url.path, reason: "a WAV file holds at most 4 GiB of samples")
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(samples.count * 2)
            WAV.appendPCM(samples, to: &bytes)
            try file.append(bytes)
            dataBytes += bytes.count
        }

        /// Writes the real sizes into the header and puts the file in place. A Ctrl-C that comes
        /// meanwhile waits until it is done.
        public func commit() throws {
            try Interruption.whileWriting {
                do {
                    try file.overwrite(
                        WAV.header(dataBytes: dataBytes, sampleRate: sampleRate, channels: channels), at: 0)
                    try file.commit()
                } catch {
                    file.discard()
                    throw error
                }
            }
        }

        /// Removes the temporary file; nothing appears at the destination.
        public func discard() { file.discard() }
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
        var meter = Meter()
        meter.add(samples)
        self = meter.levels(sampleRate: sampleRate)
    }

    /// Measures a signal block by block, for one too long to hold whole; the figures are the
    /// same as those of the whole signal.
    public struct Meter: Sendable {
        private var peak: Float = 0
        private var sumOfSquares = 0.0
        private var count = 0

        /// An empty meter.
        public init() {}

        /// Adds the next block of the signal.
        public mutating func add(_ samples: [Float]) {
            for x in samples { peak = max(peak, abs(x)); sumOfSquares += Double(x) * Double(x) }
            count += samples.count
        }

        /// The levels of everything added, at `sampleRate` Hz.
        public func levels(sampleRate: Int) -> SignalLevels {
            SignalLevels(
                peakDecibels: 20 * log10(Double(peak)),
                rmsDecibels: 10 * log10(sumOfSquares / Double(max(1, count))),
                seconds: Double(count) / Double(sampleRate))
        }
    }

    private init(peakDecibels: Double, rmsDecibels: Double, seconds: Double) {
        self.peakDecibels = peakDecibels
        self.rmsDecibels = rmsDecibels
        self.seconds = seconds
    }
}
