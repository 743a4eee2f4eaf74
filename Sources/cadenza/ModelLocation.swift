import Basics
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

    /// Where the package resources (Sources/cadenza/Resources) may be (`ResourceFolders`).
    static var resourceFolders: [URL] {
        ResourceFolders.candidates(
            module: "cadenza",
            sourceFolder: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                "Resources"))
    }
}
