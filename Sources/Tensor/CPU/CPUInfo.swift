#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The CPU's model name and feature flags from /proc/cpuinfo (empty elsewhere).
struct CPUInfo {
    var modelName: String?
    /// "cpu family" and "model" (AMD family 25 is Zen 3/4, 26 is Zen 5).
    var family: String?, model: String?
    var flags: Set<String> = []

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
