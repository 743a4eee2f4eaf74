import Foundation
import Generation
import MIDI
import REMI

/// A model the studio offers, loaded once.
public struct StudioModel {
    /// The name the page and the API use (`pretrained`, `pop`).
    public var name: String
    /// What the page shows.
    public var label: String
    /// The model.
    public var folder: ModelFolder

    /// A model offered as `name`, shown as `label`.
    public init(name: String, label: String, folder: ModelFolder) {
        self.name = name
        self.label = label
        self.folder = folder
    }

    /// The parts it writes, in track order.
    var parts: [String] {
        let roles = folder.tokenizer.config.trackRoles
        return roles.isEmpty ? ["Piano"] : roles
    }

    /// The bars of its grid, in quarter notes.
    var beatsPerBar: Int { folder.tokenizer.config.beatsPerBar }
}

/// The one generation worker: a thread of its own that takes jobs from the book in order, so
/// no two pieces are written at once and the server's threads stay free to answer.
final class Workshop: @unchecked Sendable {
    private let book: TakeBook
    private let composers: [String: Composer]
    private let thread: Thread

    /// Starts the worker over one composer per model.
    init(book: TakeBook, models: [StudioModel]) throws {
        self.book = book
        var composers: [String: Composer] = [:]
        for model in models { composers[model.name] = try Composer(model: model.folder) }
        self.composers = composers
        thread = Thread { [book, composers] in
            while let job = book.nextJob() {
                Self.run(job, composer: composers[job.model], book: book)
            }
        }
        thread.name = "cadenza studio worker"
        thread.start()
    }

    private static func run(_ job: Job, composer: Composer?, book: TakeBook) {
        guard let composer else { return book.fail(job.takeID, reason: "the model \(job.model) is not loaded") }
        do {
            let piece = try composer.compose(job.request) { bar in
                book.finished(bar: bar.bar, of: job.takeID, file: bar.file, totalBars: job.totalBars)
            }
            book.finish(job.takeID, file: piece.file, totalBars: piece.newBars.upperBound)
        } catch {
            book.fail(job.takeID, reason: StudioError.reason(for: error))
        }
    }

    /// Ends the worker after the piece it is writing.
    func close() { book.close() }
}
