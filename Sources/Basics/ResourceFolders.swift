import Foundation

/// Where a module's package resources may be, in the order to try: the resource bundle SwiftPM
/// puts beside the executable (`<Package>_<Module>.resources` on Linux, `.bundle` on macOS),
/// then the source tree the binary was built from. Looked up by hand rather than through
/// `Bundle.module`, which stops the program when its bundle has been moved away.
public enum ResourceFolders {
    /// The candidates for module `module` of the Cadenza package, whose resources in the source
    /// tree are `sourceFolder`; `inside` is the path the resources have within the bundle
    /// (a copied folder keeps its name there).
    public static func candidates(module: String, sourceFolder: URL, inside: String = "") -> [URL] {
        let beside = Bundle.main.bundleURL
        let bundle = "Cadenza_\(module)"
        func within(_ url: URL) -> URL { inside.isEmpty ? url : url.appendingPathComponent(inside) }
        return [
            within(beside.appendingPathComponent("\(bundle).resources")),
            within(beside.appendingPathComponent("\(bundle).bundle/Contents/Resources")),
            within(beside.appendingPathComponent("\(bundle).bundle")),
            sourceFolder,
        ]
    }
}
