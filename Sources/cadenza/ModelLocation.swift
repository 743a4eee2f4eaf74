import Foundation
import Generation
import Training

/// Where a command's model comes from: `--checkpoint`, or the pretrained model in the package
/// resources.
enum ModelLocation {
    /// The model folder `path` names (a checkpoint or a run folder), or the pretrained model.
    static func bundle(_ path: String?) throws -> ModelBundle {
        guard let path else {
            for resources in resourceFolders {
                if let folder = ModelBundle.pretrained(in: resources) { return try ModelBundle.read(folder) }
            }
            throw ModelBundleError.noPretrainedModel
        }
        return try checkpoint(path).bundle
    }

    /// The model `path` names and, when it is a training checkpoint (or run), that checkpoint:
    /// a run folder gives its `best` checkpoint, else its `latest` (`Checkpoint.locate`), and a
    /// checkpoint's manifest is checked before its weights are read. A folder with only the
    /// three model files (an exported or bundled model) has no checkpoint.
    static func checkpoint(_ path: String) throws -> (bundle: ModelBundle, checkpoint: Checkpoint?) {
        let url = URL(fileURLWithPath: path)
        if ModelBundle.isBundle(url) && !FileManager.default.fileExists(atPath: url.appendingPathComponent("state.json").path) {
            return (try ModelBundle.read(url), nil)
        }
        let checkpoint = try Checkpoint.read(Checkpoint.locate(path, preferBest: true))
        return (try ModelBundle.read(checkpoint.folder), checkpoint)
    }

    /// Where the package resources (Sources/cadenza/Resources) may be: the resource bundle
    /// SwiftPM puts beside the executable (Linux `.resources`, macOS `.bundle`), then the
    /// source tree this binary was built from. Looked up by hand rather than through
    /// `Bundle.module`, which stops the program when its bundle has been moved away.
    static var resourceFolders: [URL] {
        let beside = Bundle.main.bundleURL
        return [beside.appendingPathComponent("Cadenza_cadenza.resources"),
                beside.appendingPathComponent("Cadenza_cadenza.bundle/Contents/Resources"),
                beside.appendingPathComponent("Cadenza_cadenza.bundle"),
                URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources")]
    }
}
