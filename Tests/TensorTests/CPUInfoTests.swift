import Testing

@testable import Tensor

/// `cadenza doctor` names the core's design from /proc/cpuinfo's vendor, family and model.
@Suite struct CPUInfoTests {
    /// The hosts docs/benchmarks.md reports on, and the edges of AMD family 0x19's Zen 4 ranges.
    @Test func namesTheCoresOfTheHostsWeMeasured() {
        let cases: [(String, Int, Int, String?)] = [
            ("AuthenticAMD", 25, 1, "Zen 3"),  // EPYC Milan
            ("AuthenticAMD", 25, 17, "Zen 4"),  // EPYC Genoa
            ("AuthenticAMD", 25, 0x0F, "Zen 3"), ("AuthenticAMD", 25, 0x10, "Zen 4"),
            ("AuthenticAMD", 25, 0x1F, "Zen 4"), ("AuthenticAMD", 25, 0x20, "Zen 3"),
            ("AuthenticAMD", 25, 0x5F, "Zen 3"), ("AuthenticAMD", 25, 0x60, "Zen 4"),
            ("AuthenticAMD", 25, 0x7F, "Zen 4"), ("AuthenticAMD", 25, 0xA0, "Zen 4"),
            ("AuthenticAMD", 26, 2, "Zen 5"),  // EPYC Turin
            ("AuthenticAMD", 23, 49, "Zen/Zen 2"),
            ("GenuineIntel", 6, 207, "Emerald Rapids"), ("GenuineIntel", 6, 143, "Sapphire Rapids"),
            ("GenuineIntel", 6, 1, nil), ("AuthenticAMD", 21, 2, nil), ("HygonGenuine", 24, 0, nil),
        ]
        for (vendor, family, model, name) in cases {
            #expect(
                CPUInfo.microarchitecture(vendor: vendor, family: family, model: model) == name,
                "\(vendor) \(family) \(model)")
        }
    }

    /// What /proc/cpuinfo says, read as the doctor reads it: a name only where the three fields
    /// are all present.
    @Test func readsTheVendorFamilyAndModel() {
        var info = CPUInfo(modelName: "AMD EPYC", vendor: "AuthenticAMD", family: "26", model: "2")
        #expect(info.microarchitecture == "Zen 5")
        info.model = nil
        #expect(info.microarchitecture == nil)
        let here = CPUInfo.read()
        if here.family != nil { #expect(here.vendor != nil) }
    }
}
