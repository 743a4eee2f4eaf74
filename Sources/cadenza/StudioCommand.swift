import ArgumentParser
import Foundation
import Generation
import Studio

/// `cadenza studio`: a local web page to generate, see, hear and edit music (docs/studio.md).
struct StudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "studio",
        abstract: "Start Cadenza Studio, a web page on this computer to write, see, hear and edit music.",
        discussion: """
            Serves the page and its API at http://HOST:PORT/ until Ctrl-C. Every bundled model is loaded once; \
            pieces are written one at a time, in the order asked. See docs/studio.md.
            """)

    @Option(
        help: """
            The address to listen on. The default answers this computer only; another address lets other \
            computers on the network use the studio (and your CPU).
            """)
    var host = "127.0.0.1"

    @Option(parsing: .unconditional, help: "The port, 1...65535.")
    var port = 8080

    @Option(
        help: """
            Also offer this model (a checkpoint, model or run folder), as its folder's name; repeat for more.
            """)
    var model: [String] = []

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (1...65_535).contains(port) else { throw ValidationError("--port must be 1...65535, got \(port)") }
        guard !host.isEmpty else { throw ValidationError("--host must name an address, as 127.0.0.1") }
    }

    func run() throws {
        try threadOptions.apply()
        var models = [
            StudioModel(name: "pretrained", label: "Piano (maestro)", folder: try ModelLocation.bundle("pretrained")),
            StudioModel(name: "pop", label: "Pop arrangement (POP909)", folder: try ModelLocation.bundle("pop")),
        ]
        for path in model {
            let name = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent.lowercased()
            guard !models.contains(where: { $0.name == name }) else {
                throw ValidationError("--model \(path): a model named \(name) is already offered; rename its folder")
            }
            models.append(StudioModel(name: name, label: name, folder: try ModelLocation.bundle(path)))
        }
        let server = try StudioServer(models: models, host: host, port: port)
        let shown = host.contains(":") ? "[\(host)]" : host
        let finished = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: Error?
        Task {
            do {
                try await server.run(host: host, port: port) {
                    print("Cadenza Studio: open http://\(shown):\(port)/ in a browser (Ctrl-C stops it)")
                    fflush(stdout)
                }
            } catch { failure = error }
            finished.signal()
        }
        finished.wait()
        if let failure {
            let text = "\(failure)"
            // The hint names the flag the system's reason points at.
            let hint =
                text.contains("Address already in use") || text.contains("errno: 98")
                ? "the port is in use: try another --port"
                : text.contains("UnknownHost") || text.contains("Cannot assign requested address")
                    ? "--host must be an address of this machine, as 127.0.0.1 or 0.0.0.0"
                    : "check --host and --port"
            throw CommandFailure("the studio could not listen at \(shown):\(port): \(text) (\(hint))")
        }
    }
}
