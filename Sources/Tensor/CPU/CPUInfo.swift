#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The CPU's model name and feature flags from /proc/cpuinfo (empty elsewhere).
struct CPUInfo {
    var modelName: String?
    /// "vendor_id": AuthenticAMD, GenuineIntel.
    var vendor: String?
    /// "cpu family" and "model" (AMD family 25 is Zen 3/4, 26 is Zen 5).
    var family: String?, model: String?
    var flags: Set<String> = []

    /// The core's design, named for people reading `cadenza doctor` and benchmark reports: AMD's
    /// Zen generations and Intel's server cores, by vendor, family and model; nil for others.
    /// Nothing is chosen by it (paths follow the feature flags).
    var microarchitecture: String? {
        guard let vendor, let family = family.flatMap({ Int($0) }), let model = model.flatMap({ Int($0) }) else {
            return nil
        }
        return Self.microarchitecture(vendor: vendor, family: family, model: model)
    }

    /// The name for `vendor`, `family` and `model` (decimal, as /proc/cpuinfo writes them), from
    /// the vendors' model numbers: AMD family 0x17 is Zen to Zen 2, 0x19 Zen 3 or, for models
    /// 0x10-0x1F, 0x60-0x7F and 0xA0-0xAF, Zen 4, 0x1A Zen 5; Intel family 6 by model.
    static func microarchitecture(vendor: String, family: Int, model: Int) -> String? {
        switch (vendor, family) {
        case ("AuthenticAMD", 0x17): return "Zen/Zen 2"
        case ("AuthenticAMD", 0x19):
            switch model {
            case 0x10...0x1F, 0x60...0x7F, 0xA0...0xAF: return "Zen 4"
            default: return "Zen 3"
            }
        case ("AuthenticAMD", 0x1A): return "Zen 5"
        case ("GenuineIntel", 6):
            switch model {
            case 0x55: return "Skylake or Cascade Lake"
            case 0x6A, 0x6C: return "Ice Lake"
            case 0x8F: return "Sapphire Rapids"
            case 0xCF: return "Emerald Rapids"
            case 0xAD, 0xAE: return "Granite Rapids"
            default: return nil
            }
        default: return nil
        }
    }

    static func read() -> CPUInfo {
        var info = CPUInfo()
        guard let file = fopen("/proc/cpuinfo", "r") else { return info }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            let parts = text.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingSpaces, value = parts[1].trimmingSpaces
            if key == "model name", info.modelName == nil { info.modelName = value }
            if key == "vendor_id", info.vendor == nil { info.vendor = value }
            if key == "cpu family", info.family == nil { info.family = value }
            if key == "model", info.model == nil { info.model = value }
            if key == "flags", info.flags.isEmpty {
                info.flags = Set(value.split(separator: " ").map(String.init))
                break
            }
        }
        free(line)
        return info
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed())
    }
}
