import Foundation
import Generation
import Training

/// Where a command's model comes from: `--checkpoint` (or `--init-from`), else the pretrained
/// model in this executable's resources. The lookup itself is `ModelFolder.named`; only where
/// the resources are is the command line's to say.
enum ModelLocation {
    /// The model `path` names, or the pretrained model when it is nil.
    static func bundle(_ path: String?) throws -> ModelFolder {
        try ModelFolder.named(path, resourceFolders: resourceFolders).model
    }

    /// The model `path` names and, when it is a training checkpoint (or run), that checkpoint.
    static func checkpoint(_ path: String) throws -> (bundle: ModelFolder, checkpoint: Checkpoint?) {
        let found = try ModelFolder.named(path, resourceFolders: resourceFolders)
        return (found.model, found.checkpoint)
    }

    /// Where the package resources (Sources/cadenza/Resources) may be: the resource bundle
    /// SwiftPM puts beside the executable (Linux `.resources`, macOS `.bundle`), then the
    /// source tree this binary was built from. Looked up by hand rather than through
    /// `Bundle.module`, which stops the program when its bundle has been moved away.
    static var resourceFolders: [URL] {
        let beside = Bundle.main.bundleURL
        return [
            beside.appendingPathComponent("Cadenza_cadenza.resources"),
            beside.appendingPathComponent("Cadenza_cadenza.bundle/Contents/Resources"),
            beside.appendingPathComponent("Cadenza_cadenza.bundle"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources"),
        ]
    }
}
