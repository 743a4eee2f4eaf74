import Foundation
import Testing

/// The module graph as `Package.swift` declares it and as the sources use it: every module
/// imports exactly the modules it lists, and every edge points down the layers of
/// docs/design.md, so the layering cannot erode one import at a time.
@Suite struct ModuleGraphTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Each module's layer: a module may depend only on modules of lower layers.
    static let layers: [String: Int] = [
        "Basics": 0, "TensorKernels": 0,
        "MIDI": 1, "Tensor": 1, "Plot": 1,
        "REMI": 2, "Models": 2,
        "Corpus": 3, "Generation": 3,
        "Evaluation": 4, "Studio": 4,
        "Training": 5,
        "cadenza": 6, "CadenzaBench": 6,
    ]

    /// A library or executable target of Package.swift: its name, folder and listed modules.
    struct Target {
        var name: String
        var folder: String
        var dependencies: [String]
    }

    /// The non-test targets of Package.swift, read from its text.
    static func targets() throws -> [Target] {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let pattern = try NSRegularExpression(
            pattern: #"\.(target|executableTarget)\(\s*name:\s*"([^"]+)"(.*?)"#
                + #"(?=\n\s*\.(?:target|executableTarget|testTarget)\(|\n\s*\],\s*\n\s*swiftLanguageModes)"#,
            options: [.dotMatchesLineSeparators])
        let text = manifest as NSString
        return pattern.matches(in: manifest, range: NSRange(location: 0, length: text.length)).map { match in
            let name = text.substring(with: match.range(at: 2))
            let body = text.substring(with: match.range(at: 3))
            var dependencies: [String] = []
            if let list = body.range(
                of: #"(?s)dependencies:\s*\[(.*?)\]\s*,?\s*(path|resources|swiftSettings|cSettings|\))"#,
                options: .regularExpression)
            {
                let listed = String(body[list])
                let names = try? NSRegularExpression(pattern: #"(?<![a-zA-Z:] )"([A-Za-z]+)"(?!\s*,\s*package)"#)
                let listedText = listed as NSString
                dependencies =
                    names?.matches(in: listed, range: NSRange(location: 0, length: listedText.length))
                    .map { listedText.substring(with: $0.range(at: 1)) }
                    .filter { layers[$0] != nil } ?? []
            }
            var folder = "Sources/\(name)"
            if let path = body.range(of: #"path:\s*"([^"]+)""#, options: .regularExpression) {
                folder = String(body[path]).components(separatedBy: "\"")[1]
            }
            return Target(name: name, folder: folder, dependencies: dependencies)
        }
    }

    /// The project's own modules imported by the Swift files under `folder`.
    static func imports(in folder: String) -> Set<String> {
        var found = Set<String>()
        let base = root.appendingPathComponent(folder)
        guard let walker = FileManager.default.enumerator(atPath: base.path) else { return found }
        for case let relative as String in walker where relative.hasSuffix(".swift") {
            guard let text = try? String(contentsOf: base.appendingPathComponent(relative), encoding: .utf8) else {
                continue
            }
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                if words.count == 2, words[0] == "import", layers[String(words[1])] != nil {
                    found.insert(String(words[1]))
                }
            }
        }
        return found
    }

    @Test func everyModuleImportsExactlyWhatItLists() throws {
        let targets = try Self.targets()
        #expect(Set(targets.map(\.name)) == Set(Self.layers.keys), "Package.swift's targets and the layer table differ")
        for target in targets where target.name != "TensorKernels" {
            let imported = Self.imports(in: target.folder)
            let listed = Set(target.dependencies)
            let unlisted = imported.subtracting(listed).sorted()
            #expect(unlisted.isEmpty, "\(target.name) imports \(unlisted) without listing them")
            // A C target is used through its header, not imported by name in every module.
            let unused = listed.subtracting(imported).subtracting(["TensorKernels"]).sorted()
            #expect(unused.isEmpty, "\(target.name) lists \(unused) but imports nothing of them")
        }
    }

    @Test func everyEdgePointsDownTheLayers() throws {
        for target in try Self.targets() {
            let layer = try #require(Self.layers[target.name])
            for dependency in target.dependencies {
                let below = try #require(Self.layers[dependency])
                #expect(below < layer, "\(target.name) (layer \(layer)) depends on \(dependency) (layer \(below))")
            }
        }
    }
}
