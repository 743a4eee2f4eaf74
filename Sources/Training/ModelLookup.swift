import Foundation
import Generation

extension ModelFolder {
    /// The model a user names: nil or `pretrained` for the piano model bundled in one of
    /// `resourceFolders`, or another name of `bundledModels` (`pop`); a training checkpoint or
    /// a run folder (its `best` checkpoint, else its `latest`, `Checkpoint.locate`), whose
    /// manifest is checked before its weights are read (all but the optimizer state, unused
    /// here); or a plain model folder (an exported or bundled model), which has no checkpoint.
    /// - Throws: `ModelFolderError.noPretrainedModel`, or the folder's or checkpoint's error.
    public static func named(_ path: String?, resourceFolders: [URL]) throws -> (
        model: ModelFolder, checkpoint: Checkpoint?
    ) {
        let name = path ?? "pretrained"
        if bundledModels[name.lowercased()] != nil {
            for resources in resourceFolders {
                if let folder = pretrained(in: resources, named: name) { return (try read(folder), nil) }
            }
            throw ModelFolderError.noPretrainedModel
        }
        guard let path else { throw ModelFolderError.noPretrainedModel }
        let url = URL(fileURLWithPath: path)
        // A folder with any of a model's files is read as one (a missing file is then named);
        // a checkpoint holds them too, beside its state.json.
        if missingModelFiles(in: url).count < modelFiles.count
            && !FileManager.default.fileExists(atPath: url.appendingPathComponent("state.json").path)
        {
            return (try read(url), nil)
        }
        let checkpoint = try Checkpoint.read(Checkpoint.locate(path, preferBest: true), verifying: .modelFiles)
        return (try read(checkpoint.folder), checkpoint)
    }

    /// Whether `folder` is one of the models bundled in `resourceFolders` (part of Cadenza's
    /// installation: nothing writes into it).
    public static func isBundled(_ folder: URL, resourceFolders: [URL]) -> Bool {
        func canonical(_ url: URL) -> URL { url.standardizedFileURL.resolvingSymlinksInPath() }
        let here = canonical(folder)
        return Set(bundledModels.values).contains { subfolder in
            resourceFolders.contains { canonical($0.appendingPathComponent(subfolder)) == here }
        }
    }
}
