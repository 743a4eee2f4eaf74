import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `cadenza-bench studio`: many musicians at once against a running `cadenza studio`. Each
/// client asks for one piece (POST /api/takes) and follows it over its event stream until it
/// is done. Reports how fast the queue answers, how long each piece took from the ask to its
/// last bar, and every error (docs/benchmarks.md, "Studio under load").
struct BenchStudio: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "studio", abstract: "Load-test a running cadenza studio: N clients each asking for a piece.")

    @Option(help: "The studio's address.")
    var url = "http://127.0.0.1:8080"

    @Option(help: "Clients, each asking for one piece at the same moment.")
    var clients = 50

    @Option(help: "Bars per piece.")
    var bars = 8

    @Option(help: "The model to ask.")
    var model = "pretrained"

    func validate() throws {
        guard clients >= 1, bars >= 1 else { throw ValidationError("--clients and --bars must be at least 1") }
        guard URL(string: url) != nil else { throw ValidationError("--url is not an address: \(url)") }
    }

    /// What one client saw.
    struct Outcome: Sendable {
        var answered: Double?
        var finished: Double?
        var position: Int?
        var error: String?
    }

    func run() throws {
        let base = url, bars = bars, model = model, clients = clients
        let configuration = URLSessionConfiguration.default
        configuration.httpMaximumConnectionsPerHost = clients * 2
        configuration.timeoutIntervalForRequest = 600
        configuration.timeoutIntervalForResource = 3600
        let session = URLSession(configuration: configuration)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcomes: [Outcome] = []
        let started = Date()
        Task {
            outcomes = await withTaskGroup(of: Outcome.self) { group in
                for client in 0..<clients {
                    group.addTask {
                        await Self.client(client, base: base, bars: bars, model: model, session: session)
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            done.signal()
        }
        done.wait()
        let wall = Date().timeIntervalSince(started)
        let errors = outcomes.compactMap(\.error)
        print("cadenza studio at \(base): \(clients) clients, one \(bars)-bar piece each (\(model)), \(format(wall)) s")
        print("| measure | p50 | p90 | p99 | max |")
        print("|---|---|---|---|---|")
        for (name, values) in [
            ("POST /api/takes answered (ms)", outcomes.compactMap(\.answered).map { $0 * 1000 }),
            ("piece done, from the ask (s)", outcomes.compactMap(\.finished)),
        ] {
            let sorted = values.sorted()
            func at(_ q: Double) -> String {
                sorted.isEmpty
                    ? "-" : format(sorted[min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1)])
            }
            print("| \(name) | \(at(0.5)) | \(at(0.9)) | \(at(0.99)) | \(at(1)) |")
        }
        let positions = outcomes.compactMap(\.position)
        print(
            "queue positions given: \(positions.min() ?? 0)...\(positions.max() ?? 0), pieces per minute: "
                + format(Double(outcomes.filter { $0.finished != nil }.count) / wall * 60))
        print(
            "errors: \(errors.count)"
                + (errors.isEmpty ? "" : " (\(Set(errors).sorted().prefix(5).joined(separator: "; ")))"))
        if !errors.isEmpty { throw ExitCode.failure }
    }

    private func format(_ x: Double) -> String { String(format: x < 10 ? "%.2f" : "%.1f", x) }

    static func client(
        _ index: Int, base: String, bars: Int, model: String, session: URLSession
    ) async -> Outcome {
        var outcome = Outcome()
        do {
            var post = URLRequest(url: URL(string: "\(base)/api/takes")!)
            post.httpMethod = "POST"
            post.setValue("application/json", forHTTPHeaderField: "Content-Type")
            post.httpBody = Data(#"{"model":"\#(model)","bars":\#(bars),"seed":\#(index)}"#.utf8)
            let asked = Date()
            let (body, response) = try await session.data(for: post)
            outcome.answered = Date().timeIntervalSince(asked)
            guard (response as? HTTPURLResponse)?.statusCode == 202,
                let created = try JSONSerialization.jsonObject(with: body) as? [String: Any],
                let id = created["id"] as? String
            else {
                outcome.error =
                    "POST answered \((response as? HTTPURLResponse)?.statusCode ?? 0): "
                    + String(decoding: body, as: UTF8.self)
                return outcome
            }
            outcome.position = created["queuePosition"] as? Int
            let (events, _) = try await session.data(from: URL(string: "\(base)/api/takes/\(id)/events")!)
            let text = String(decoding: events, as: UTF8.self)
            if text.contains("event: done") {
                outcome.finished = Date().timeIntervalSince(asked)
            } else {
                outcome.error = "take \(id) did not finish: \(text.suffix(200))"
            }
        } catch {
            outcome.error = "\(error)"
        }
        return outcome
    }
}
