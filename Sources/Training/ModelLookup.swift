import Foundation
import Generation

extension ModelFolder {
    /// The model a user names: nil or `pretrained` for the model bundled in one of
    /// `resourceFolders`; a training checkpoint or a run folder (its `best` checkpoint, else
    /// its `latest`, `Checkpoint.locate`), whose manifest is checked before its weights are
    /// read; or a plain model folder (an exported or bundled model), which has no checkpoint.
    /// - Throws: `ModelFolderError.noPretrainedModel`, or the folder's or checkpoint's error.
    public static func named(_ path: String?, resourceFolders: [URL]) throws -> (
        model: ModelFolder, checkpoint: Checkpoint?
    ) {
        guard let path, path != "pretrained" else {
            for resources in resourceFolders {
                if let folder = pretrained(in: resources) { return (try read(folder), nil) }
            }
            throw ModelFolderError.noPretrainedModel
        }
        let url = URL(fileURLWithPath: path)
        if holdsModel(url) && !FileManager.default.fileExists(atPath: url.appendingPathComponent("state.json").path) {
            return (try read(url), nil)
        }
        let checkpoint = try Checkpoint.read(Checkpoint.locate(path, preferBest: true))
        return (try read(checkpoint.folder), checkpoint)
    }
}
