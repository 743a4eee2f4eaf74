import Foundation
import Generation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import MIDI
import Testing

@testable import Studio

/// Every endpoint of the studio through Hummingbird's router test client, with the bundled
/// models (read from the source tree): what a good request gets, and what bad ones get.
@Suite(.serialized) struct StudioServerTests {
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/cadenza/Resources").standardizedFileURL

    static func studio() throws -> StudioServer {
        try StudioServer(
            models: [
                StudioModel(
                    name: "pretrained", label: "Piano",
                    folder: try ModelFolder.read(resources.appendingPathComponent("Pretrained"))),
                StudioModel(
                    name: "pop", label: "Pop", folder: try ModelFolder.read(resources.appendingPathComponent("Pop"))),
            ], host: "127.0.0.1", port: 8080)
    }

    /// Runs `body` against a fresh studio and closes it.
    static func withStudio(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let studio = try studio()
        defer { studio.close() }
        try await Application(router: studio.router()).test(.router, body)
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    static func post(_ client: any TestClientProtocol, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: "/api/takes", method: .post, body: ByteBuffer(string: body))
    }

    /// Polls a take until it is done or failed.
    static func waitFor(_ id: String, _ client: any TestClientProtocol) async throws -> [String: Any] {
        for _ in 0..<600 {
            let take = try json(try await client.execute(uri: "/api/takes/\(id)", method: .get))
            if take["status"] as? String == "done" || take["status"] as? String == "failed" { return take }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("take \(id) did not finish")
        return [:]
    }

    @Test func servesThePageAndTheModels() async throws {
        try await Self.withStudio { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(String(buffer: page.body).contains("studio.js"))
            let script = try await client.execute(uri: "/studio.js", method: .get)
            #expect(script.status == .ok && script.headers[.contentType]?.hasPrefix("text/javascript") == true)
            let models = try Self.json(try await client.execute(uri: "/api/models", method: .get))
            let list = try #require(models["models"] as? [[String: Any]])
            #expect(list.map { $0["name"] as? String } == ["pretrained", "pop"])
            #expect(list[1]["parts"] as? [String] == ["MELODY", "BRIDGE", "PIANO"])
            let controls = try #require(list[0]["controls"] as? [String: Any])
            #expect(
                controls["infill"] as? Bool == true && (controls["styles"] as? [String])?.contains("chopin") == true)
        }
    }

    @Test func generatesStreamsInfillsAndDownloads() async throws {
        try await Self.withStudio { client in
            let created = try await Self.post(client, #"{"model":"pretrained","bars":4,"seed":5}"#)
            #expect(created.status == .accepted)
            let id = try #require(try Self.json(created)["id"] as? String)
            let take = try await Self.waitFor(id, client)
            #expect(take["status"] as? String == "done")
            let notes = try #require(take["notes"] as? [[String: Any]])
            #expect(notes.count > 10)
            #expect((take["bars"] as? [Any])?.count == 4)
            let settings = try #require(take["settings"] as? [String: Any])
            #expect(settings["seed"] as? Int == 5 && settings["temperature"] != nil)

            // The same settings write the same notes as the command line's pipeline.
            let folder = try ModelFolder.read(Self.resources.appendingPathComponent("Pretrained"))
            var request = PieceRequest(
                seed: 5,
                sampler: try Sampler(
                    temperature: Sampler.recommendedTemperature, topK: 0, topP: Sampler.recommendedTopP))
            request.bars = 4
            let direct = try Composer(model: folder).compose(request)
            #expect(direct.file.noteCount == notes.count)

            let events = try await client.execute(uri: "/api/takes/\(id)/events", method: .get)
            #expect(events.headers[.contentType] == "text/event-stream")
            #expect(String(buffer: events.body).hasPrefix("event: done\ndata: {\"take\":"))

            let midi = try await client.execute(uri: "/api/takes/\(id)/midi", method: .get)
            #expect(
                midi.headers[.contentDisposition] == #"attachment; filename="\#(id).mid"; filename*=UTF-8''\#(id).mid"#)
            let file = try MIDIFile(bytes: Array(buffer: midi.body))
            #expect(file.noteCount == notes.count)
            let wav = try await client.execute(uri: "/api/takes/\(id)/wav", method: .get)
            #expect(wav.status == .ok && String(buffer: wav.body).hasPrefix("RIFF"))

            // Rewrite bars 2-3: bars 1 and 4 keep every note.
            let infill = try await Self.post(
                client, #"{"model":"pretrained","seed":9,"infill":{"take":"\#(id)","first":2,"last":3}}"#)
            #expect(infill.status == .accepted)
            let filled = try await Self.waitFor(try #require(try Self.json(infill)["id"] as? String), client)
            let after = try #require(filled["notes"] as? [[String: Any]])
            func outside(_ notes: [[String: Any]]) -> [String] {
                notes.filter { (($0["start"] as? Double) ?? 0) < 4 || (($0["start"] as? Double) ?? 0) >= 12 }
                    .map { "\($0["pitch"] ?? 0)@\($0["start"] ?? 0)-\($0["end"] ?? 0)" }.sorted()
            }
            #expect(filled["status"] as? String == "done" && outside(after) == outside(notes))

            // Continue its first 2 bars with 2 more.
            let more = try await Self.post(
                client, #"{"model":"pretrained","bars":2,"seed":3,"prompt":{"take":"\#(id)","bars":2}}"#)
            let continued = try await Self.waitFor(try #require(try Self.json(more)["id"] as? String), client)
            #expect(continued["status"] as? String == "done" && (continued["bars"] as? [Any])?.count == 4)
            let list = try Self.json(try await client.execute(uri: "/api/takes", method: .get))
            #expect((list["takes"] as? [Any])?.count == 3)
            // The page's poll names the takes it wants; a name of no take is left out.
            let some = try Self.json(
                try await client.execute(uri: "/api/takes?ids=\(id),nothing,\(id)", method: .get))
            #expect((some["takes"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
        }
    }

    @Test func streamsEachBarAsItIsWritten() async throws {
        try await Self.withStudio { client in
            _ = try await Self.post(client, #"{"model":"pretrained","bars":6,"seed":1}"#)
            let second = try await Self.post(client, #"{"model":"pop","bars":3,"seed":2}"#)
            let created = try Self.json(second)
            #expect(created["queuePosition"] as? Int == 1)
            let id = try #require(created["id"] as? String)
            let stream = String(buffer: try await client.execute(uri: "/api/takes/\(id)/events", method: .get).body)
            let names = stream.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { $0.dropFirst(7) }
            #expect(names.first == "queued" && names.last == "done", "\(names)")
            #expect(names.filter { $0 == "started" }.count == 1)
            #expect(Array(names.drop { $0 != "started" }.dropFirst().prefix(3)) == ["bar", "bar", "bar"])
            let bars = stream.split(separator: "\n").filter { $0.hasPrefix("data: {\"bar\":") }.map {
                $0.dropFirst(13).prefix { $0.isNumber }
            }
            #expect(bars == ["1", "2", "3"])
            // The pop model's parts are named in the stream's tracks.
            #expect(stream.contains(#""name":"MELODY""#) || stream.contains(#""name":"PIANO""#))
        }
    }

    @Test func uploadsAreReadByTheTotalReader() async throws {
        try await Self.withStudio { client in
            var file = MIDIFile()
            file.tracks = [
                Track(
                    name: "Piano",
                    notes: (0..<8).map { Note(start: $0 * 480, end: $0 * 480 + 400, pitch: 60 + $0, velocity: 80) },
                    endTick: 3840)
            ]
            let bytes = try file.encoded()
            let good = try await client.execute(
                uri: "/api/prompts?name=my%20song.mid", method: .post, body: ByteBuffer(bytes: bytes))
            #expect(good.status == .created)
            let answer = try Self.json(good)
            let take = try #require(answer["take"] as? [String: Any])
            #expect(answer["id"] as? String == take["id"] as? String && take["name"] as? String == "my song.mid")
            // The download keeps the name: ASCII in filename, the whole name in filename*.
            let accented = try await client.execute(
                uri: "/api/prompts?name=%C3%A9t%C3%A9%20song.MIDI", method: .post, body: ByteBuffer(bytes: bytes))
            let accentedID = try #require(try Self.json(accented)["id"] as? String)
            let download = try await client.execute(uri: "/api/takes/\(accentedID)/midi", method: .get)
            #expect(
                download.headers[.contentDisposition]
                    == #"attachment; filename="_t_ song.mid"; filename*=UTF-8''%C3%A9t%C3%A9%20song.mid"#)
            #expect(answer["notes"] as? Int == 8 && take["source"] as? String == "upload")
            #expect(answer["note"] is NSNull)
            // The same file again is told apart.
            for expected in ["my song (2).mid", "my song (3).mid"] {
                let again = try await client.execute(
                    uri: "/api/prompts?name=my%20song.mid", method: .post, body: ByteBuffer(bytes: bytes))
                #expect(try Self.json(again)["name"] as? String == expected)
            }

            // A waltz in two tracks: shown in the models' 4-beat bars (the answer says so); its
            // tracks may be a piano's hands, so the piano model continues it as the CLI would. A
            // take the pop model wrote in three parts is refused to the piano model, which would
            // fold them into one.
            var waltz = MIDIFile()
            waltz.timeSignatures = [TimeSignature(tick: 0, numerator: 3, denominator: 4)]
            waltz.tracks = [
                Track(
                    name: "Tune",
                    notes: (0..<12).map { Note(start: $0 * 480, end: $0 * 480 + 400, pitch: 72, velocity: 80) },
                    endTick: 5760),
                Track(
                    name: "Bass",
                    notes: (0..<4).map {
                        Note(start: $0 * 1440, end: $0 * 1440 + 400, pitch: 40, velocity: 80, channel: 1)
                    },
                    endTick: 5760),
            ]
            let uploaded = try Self.json(
                try await client.execute(
                    uri: "/api/prompts?name=waltz.mid", method: .post, body: ByteBuffer(bytes: try waltz.encoded())))
            #expect((uploaded["note"] as? String)?.contains("marked 3/4") == true, "\(uploaded)")
            let waltzID = try #require(uploaded["id"] as? String)
            let continued = try await Self.post(
                client, #"{"model":"pretrained","bars":1,"prompt":{"take":"\#(waltzID)","bars":2}}"#)
            #expect(continued.status == .accepted)
            let pop = try await Self.post(client, #"{"model":"pop","bars":2,"seed":1}"#)
            let popID = try #require(try Self.json(pop)["id"] as? String)
            _ = try await Self.waitFor(popID, client)
            for body in [
                #"{"model":"pretrained","bars":2,"prompt":{"take":"\#(popID)","bars":2}}"#,
                #"{"model":"pretrained","infill":{"take":"\#(popID)","first":1,"last":1}}"#,
            ] {
                let refused = try await Self.post(client, body)
                let reason = try Self.json(refused)["error"] as? String ?? ""
                #expect(
                    refused.status == .badRequest && reason.contains("has 3 parts (MELODY, BRIDGE, PIANO)")
                        && reason.contains("choose the pop model"), "\(reason)")
            }

            // A few notes far apart: a file of a hundred bytes whose view would list millions of bars.
            var far = MIDIFile()
            far.tracks = [
                Track(
                    notes: (0..<3).map { Note(start: $0 << 28, end: ($0 << 28) + 10, pitch: 60, velocity: 80) },
                    endTick: 2 << 28)
            ]
            let cases: [([UInt8], HTTPResponse.Status, String)] = [
                (try far.encoded(), .badRequest, "more than the 100000 a piece may have"),
                ([], .badRequest, "the upload is empty"),
                (Array("not a midi file at all".utf8), .badRequest, "is not a MIDI file this studio can read"),
                (Array(bytes.prefix(30)), .badRequest, "is not a MIDI file this studio can read"),
                ([UInt8](repeating: 0, count: StudioServer.uploadLimit + 1), .contentTooLarge, "over 2 MB"),
            ]
            for (body, status, reason) in cases {
                let response = try await client.execute(
                    uri: "/api/prompts?name=x.mid", method: .post, body: ByteBuffer(bytes: body))
                #expect(response.status == status, "\(reason)")
                #expect((try Self.json(response)["error"] as? String)?.contains(reason) == true, "\(reason)")
            }
            // Notes: at most `uploadNoteLimit` per upload, `heldNoteLimit` in all the takes (every
            // take is listed whole to the page).
            func dense(_ count: Int) throws -> [UInt8] {
                var file = MIDIFile()
                file.tracks = [
                    Track(
                        notes: (0..<count).map {
                            Note(start: $0 * 24, end: $0 * 24 + 20, pitch: 40 + $0 % 40, velocity: 70)
                        },
                        endTick: count * 24)
                ]
                return try file.encoded()
            }
            let tooMany = try await client.execute(
                uri: "/api/prompts?name=x.mid", method: .post,
                body: ByteBuffer(bytes: try dense(StudioServer.uploadNoteLimit + 1)))
            #expect(tooMany.status == .badRequest)
            #expect((try Self.json(tooMany)["error"] as? String)?.contains("more than the 50000") == true)
            let full = try dense(StudioServer.uploadNoteLimit)
            // The 8-note upload above is held too, so the fourth full upload would pass the limit.
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<(StudioServer.heldNoteLimit / StudioServer.uploadNoteLimit) {
                statuses.append(
                    try await client.execute(
                        uri: "/api/prompts?name=x.mid", method: .post, body: ByteBuffer(bytes: full)
                    )
                    .status)
            }
            #expect(statuses == [.created, .created, .created, .tooManyRequests])
            // A name with folders in it keeps only its last part.
            let sneaky = try await client.execute(
                uri: "/api/prompts?name=..%2F..%2Fetc%2Fpasswd", method: .post, body: ByteBuffer(bytes: bytes))
            #expect((try Self.json(sneaky)["name"] as? String) == "passwd")
        }
    }

    @Test func badTakeRequestsGetAReason() async throws {
        try await Self.withStudio { client in
            let cases: [(String, String)] = [
                ("{", "is not the JSON of a take's settings"),
                (#"{"bars":4}"#, "model is missing"),
                (#"{"model":"mahler"}"#, "model: 'mahler' is not a model of this studio"),
                (#"{"model":"pretrained","bars":0}"#, "bars: must be 1...64"),
                (#"{"model":"pretrained","bars":"eight"}"#, "bars"),
                (#"{"model":"pretrained","temperature":0}"#, "temperature: must be 0.1...5"),
                (#"{"model":"pretrained","topP":2}"#, "topP"),
                (#"{"model":"pretrained","seed":-1}"#, "seed"),
                (#"{"model":"pretrained","chords":"H:maj"}"#, "'H:maj' is not a chord name"),
                (#"{"model":"pretrained","style":"mahler"}"#, "style: 'mahler' is not a style this model knows"),
                (#"{"model":"pop","style":"chopin"}"#, "style: needs a model with control tokens"),
                (#"{"model":"pretrained","key":"H major"}"#, "key: 'H major' is not a key"),
                (#"{"model":"pretrained","tempo":1000}"#, "tempo: must be 20...300"),
                (#"{"model":"pretrained","harmonyGuidance":-1}"#, "harmonyGuidance"),
                (#"{"model":"pretrained","bars":1.5}"#, "bars: must be a whole number, got 1.5"),
                (#"{"model":"pretrained","prompt":{"take":"t1","bars":2.5}}"#, "prompt.bars: must be a whole number"),
                (#"{"model":"pretrained","topp":0.5}"#, "unknown key 'topp' (did you mean 'topP'?)"),
                (
                    #"{"model":"pretrained","chords":"\#(String(repeating: "C:maj,", count: 2000))C:maj"}"#,
                    "' has more chords than"
                ),
                (#"{"model":"pretrained","prompt":{"take":"t9","bars":2}}"#, "prompt: there is no take 't9'"),
                (
                    #"{"model":"pretrained","prompt":{"take":"t9","bars":2},"#
                        + #""infill":{"take":"t9","first":1,"last":2}}"#,
                    "prompt and infill exclude each other"
                ),
            ]
            for (body, reason) in cases {
                let response = try await Self.post(client, body)
                #expect(response.status == .badRequest, "\(body.prefix(80))")
                let error = try Self.json(response)["error"] as? String
                #expect(error?.contains(reason) == true, "\(body.prefix(80)): \(error ?? "no error")")
                #expect((error?.count ?? 0) < 600, "the reason quotes the request whole: \(body.prefix(80))")
            }
            // An infill outside the take, and a take not done yet. (A seed, so that the take
            // has its 2 bars: some seeds end the piece after the first.)
            let id = try #require(
                try Self.json(try await Self.post(client, #"{"model":"pretrained","bars":2,"seed":1}"#))["id"]
                    as? String)
            _ = try await Self.waitFor(id, client)
            let longer = try await Self.post(client, #"{"model":"pretrained","prompt":{"take":"\#(id)","bars":3}}"#)
            #expect(
                try Self.json(longer)["error"] as? String
                    == "prompt: take \(id) has 2 bars, fewer than the 3 asked to keep")
            // Every key of a take is present, `error` null until one fails.
            let done = try Self.json(try await client.execute(uri: "/api/takes/\(id)", method: .get))
            #expect(done["error"] is NSNull && done.keys.count == 12, "\(done.keys.sorted())")
            let outside = try await Self.post(
                client, #"{"model":"pretrained","infill":{"take":"\#(id)","first":2,"last":5}}"#)
            #expect(
                try Self.json(outside)["error"] as? String
                    == "infill: bars 2-5 are not inside take \(id), which has 2 bars (bars count from 1)")
            let popInfill = try await Self.post(
                client, #"{"model":"pop","infill":{"take":"\#(id)","first":1,"last":1}}"#)
            #expect((try Self.json(popInfill)["error"] as? String)?.contains("has no infilling tokens") == true)
        }
    }

    @Test func pathsOutsideTheAPIFindNothing() async throws {
        try await Self.withStudio { client in
            for uri in [
                "/../Package.swift", "/%2e%2e/%2e%2e/etc/passwd", "/studio.js/../../Package.swift",
                "/api/takes/..%2F..%2Fetc%2Fpasswd/midi", "/api/takes/t1%00/midi", "/Resources/studio.js",
                "/api/takes/t404", "/api/takes/t404/events", "/api/takes/t404/wav",
            ] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .notFound, "\(uri)")
                #expect(try Self.json(response)["error"] is String, "\(uri)")
            }
        }
    }

    @Test func anotherSiteCannotDriveIt() async throws {
        let allowed: Set<String> = ["127.0.0.1", "localhost", "[::1]"]
        #expect(StudioGuard<BasicRequestContext>.names("localhost:8080", oneOf: allowed))
        #expect(StudioGuard<BasicRequestContext>.names("127.0.0.1", oneOf: allowed))
        #expect(StudioGuard<BasicRequestContext>.names("[::1]:8080", oneOf: allowed))
        #expect(!StudioGuard<BasicRequestContext>.names("evil.example:8080", oneOf: allowed))
        #expect(!StudioGuard<BasicRequestContext>.names("localhost.evil.example", oneOf: allowed))
        #expect(!StudioGuard<BasicRequestContext>.names("localhost:80x", oneOf: allowed))
        try await Self.withStudio { client in
            let body = ByteBuffer(string: #"{"model":"pretrained","bars":1}"#)
            for (headers, status) in [
                ([HTTPField.Name.origin: "http://evil.example"], HTTPResponse.Status.forbidden),
                ([.origin: "https://127.0.0.1:8080"], .forbidden),
                ([.origin: "null"], .forbidden),
                ([.origin: "http://localhost:8080"], .accepted),
            ] {
                var fields = HTTPFields()
                for (name, value) in headers { fields[name] = value }
                let response = try await client.execute(uri: "/api/takes", method: .post, headers: fields, body: body)
                #expect(response.status == status, "\(headers)")
            }
            var crossSite = HTTPFields()
            crossSite[HTTPField.Name("Sec-Fetch-Site")!] = "cross-site"
            let response = try await client.execute(uri: "/api/takes", method: .get, headers: crossSite)
            #expect(response.status == .forbidden)
        }
    }

    @Test func aFloodIsAnsweredAtOnce() async throws {
        try await Self.withStudio { client in
            // A long piece first keeps the worker busy, so the flood fills the queue.
            let long = try await Self.post(client, #"{"model":"pretrained","bars":64,"seed":1}"#)
            #expect(long.status == .accepted)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for seed in 0..<(StudioServer.queueLimit + 40) {
                    group.addTask {
                        try await Self.post(client, #"{"model":"pretrained","bars":1,"seed":\#(seed)}"#).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .accepted || $0 == .tooManyRequests })
            #expect(statuses.contains(.tooManyRequests), "the queue refused what it had no room for")
            let models = try await client.execute(uri: "/api/models", method: .get)
            #expect(models.status == .ok)
            let takes = try #require(
                try Self.json(try await client.execute(uri: "/api/takes", method: .get))["takes"] as? [[String: Any]])
            // Every accepted take is listed; the worker may have taken some from the queue during
            // the flood, but never more than the limit wait at once.
            #expect(takes.count == 1 + statuses.filter { $0 == .accepted }.count)
            let waiting = takes.filter { $0["status"] as? String == "queued" }.compactMap {
                $0["queuePosition"] as? Int
            }
            #expect(waiting.count <= StudioServer.queueLimit)
            #expect(Set(waiting).count == waiting.count, "each waiting take has its own place in line")
            let early = try await client.execute(uri: "/api/takes/\(takes.last?["id"] ?? "")/midi", method: .get)
            #expect(early.status == .conflict || early.status == .ok)
        }
    }
}
