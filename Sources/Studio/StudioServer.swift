import Basics
import Foundation
import Generation
import Hummingbird
import MIDI
import Models
import REMI

/// A refusal the page shows word for word: a status and a reason written for a musician.
public struct StudioError: HTTPResponseError {
    /// The status.
    public var status: HTTPResponse.Status
    /// The reason.
    public var reason: String

    /// A refusal with `status` and `reason`.
    public init(_ status: HTTPResponse.Status, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    /// The body `{"error": reason}`.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        StudioServer.json(["error": reason], status: status)
    }

    /// What a musician reads for `error`: a control's name and reason without the
    /// command line's dashes.
    static func reason(for error: Error) -> String {
        if case let GenerationError.invalidControl(name, reason) = error { return "\(name): \(reason)" }
        return "\(error)"
    }
}

/// `cadenza studio`: the page and its API (docs/studio-api.md) over the session's takes.
///
/// Safe by default: it answers only requests whose `Host` is the address it serves (so a
/// page elsewhere cannot reach it through a rebound DNS name) and whose `Origin`, when the
/// browser sends one, is that address too (so another site open in the same browser cannot
/// drive it). Uploads are read whole only up to `uploadLimit` and parsed by the same total
/// MIDI reader as the command line. No request names a file: the page is three files read
/// from the module's resources and takes live in memory.
public struct StudioServer {
    /// The models offered, the first the default.
    public let models: [StudioModel]
    /// The most bytes of an uploaded MIDI file.
    public static let uploadLimit = 2 * 1024 * 1024
    /// The most new bars one take may ask for.
    public static let maximumBars = 64
    /// The most takes waiting in line.
    public static let queueLimit = 64
    /// The most notes an upload may have: several times the longest concert performance in
    /// MAESTRO.
    public static let uploadNoteLimit = 50_000
    /// The most notes all takes together may hold. Every take is listed whole to the page
    /// (`GET /api/takes`, polled while takes run), and a queued continuation holds its kept
    /// bars, so without a bound a few uploads continued many times made that list gigabytes.
    public static let heldNoteLimit = 200_000

    private let book: TakeBook
    private let workshop: Workshop
    private let page: [String: (bytes: [UInt8], type: String)]
    /// The names the `Host` header may give (with any port).
    private let allowedHosts: Set<String>

    /// A studio offering `models` (at least one) at `host`:`port`; throws when a model cannot
    /// be loaded or the page's files are missing.
    public init(models: [StudioModel], host: String, port: Int) throws {
        guard !models.isEmpty else { throw StudioError(.internalServerError, "the studio needs at least one model") }
        self.models = models
        book = TakeBook(queueLimit: Self.queueLimit)
        workshop = try Workshop(book: book, models: models)
        page = try Self.readPage()
        var hosts: Set<String> = ["127.0.0.1", "localhost", "[::1]", host.lowercased()]
        if host.contains(":") && !host.hasPrefix("[") { hosts.insert("[\(host.lowercased())]") }
        allowedHosts = hosts
    }

    /// Stops the generation worker after the piece it is writing and ends every stream.
    public func close() { workshop.close() }

    /// The router: the page, the API, and the Host and Origin checks in front of both.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: StudioGuard(allowedHosts: allowedHosts))
        for (path, file) in page {
            router.get(RouterPath(path)) { _, _ in
                var headers = HTTPFields()
                headers[.contentType] = file.type
                headers[.cacheControl] = "no-cache"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
            }
        }
        router.get("/api/models") { _, _ in Self.json(ModelList(models: self.models.map(Self.describe))) }
        router.get("/api/takes") { request, _ in
            // `?ids=t3,t5`: only those takes, so that polling a few unfinished ones stays small.
            let ids = request.uri.queryParameters.get("ids").map {
                Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            }
            return Self.json(TakeList(takes: self.book.allTakes(ids: ids)))
        }
        router.post("/api/takes") { request, context in try await self.createTake(request, context: context) }
        router.post("/api/prompts") { request, _ in try await self.upload(request) }
        router.get("/api/takes/:id") { _, context in
            guard let take = self.book.takeJSON(try Self.takeID(context)) else { throw Self.unknownTake(context) }
            return Self.json(take)
        }
        router.get("/api/takes/:id/events") { _, context in try self.events(context) }
        router.get("/api/takes/:id/midi") { _, context in try self.download(context, wav: false) }
        router.get("/api/takes/:id/wav") { _, context in try self.download(context, wav: true) }
        return router
    }

    /// Serves until the process is stopped (SIGINT or SIGTERM); `onRunning` is called once
    /// the socket listens.
    public func run(host: String, port: Int, onRunning: @escaping @Sendable () -> Void = {}) async throws {
        let app = Application(
            router: router(), configuration: .init(address: .hostname(host, port: port), serverName: "cadenza"),
            onServerRunning: { _ in onRunning() })
        // No graceful-shutdown signals: the studio writes no files, so the command line's own
        // Ctrl-C handling (end at once) is right.
        defer { close() }
        try await app.runService(gracefulShutdownSignals: [])
    }

    // MARK: The endpoints

    private func createTake(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await Self.collect(request, limit: 64 * 1024)
        let settings: TakeSettings
        do { settings = try JSONDecoder().decode(TakeSettings.self, from: Data(body)) } catch {
            throw StudioError(
                .badRequest,
                "the request is not the JSON of a take's settings: "
                    + (Self.fractionInWholeNumberField(body) ?? Self.describe(error)))
        }
        // A misspelt field would otherwise be dropped without a word (topp for topP, say).
        do { try JSONKeys.requireKnown(Data(body), known: Self.settingsFields, source: "the take's settings") } catch {
            throw StudioError(.badRequest, "\(error)")
        }
        let (filled, model, pieceRequest, kept, expected) = try prepare(settings)
        try checkRoom(forNotes: kept?.noteCount ?? 0)
        guard
            let (id, position) = book.enqueue(
                settings: filled, model: model.name, request: pieceRequest, kept: kept, beatsPerBar: model.beatsPerBar,
                expectedBars: expected)
        else {
            throw StudioError(
                .tooManyRequests,
                "the queue is full (\(Self.queueLimit) takes waiting): try again when some are done")
        }
        return Self.json(Created(id: id, queuePosition: position), status: .accepted)
    }

    /// Throws unless the takes can hold `notes` more (`heldNoteLimit`).
    private func checkRoom(forNotes notes: Int) throws {
        let held = book.heldNotes()
        guard held + notes <= Self.heldNoteLimit else {
            throw StudioError(
                .tooManyRequests,
                "the studio holds \(held) notes in its takes, and \(notes) more would pass its limit of "
                    + "\(Self.heldNoteLimit): download the takes to keep and restart it")
        }
    }

    /// The settings checked and filled in, the model, the request for the composer, the
    /// bars kept from the source, and how many bars the take will have.
    private func prepare(_ given: TakeSettings) throws -> (
        TakeSettings, StudioModel, PieceRequest, MIDIFile?, Int
    ) {
        var settings = given
        guard let model = models.first(where: { $0.name == settings.model.lowercased() }) else {
            throw StudioError(
                .badRequest,
                "model: '\(settings.model)' is not a model of this studio; it has "
                    + models.map(\.name).joined(separator: ", ")
            )
        }
        settings.model = model.name
        if settings.prompt != nil && settings.infill != nil {
            throw StudioError(.badRequest, "prompt and infill exclude each other: continue a take or rewrite its bars")
        }
        let seed = settings.seed ?? Int.random(in: 0...999_999)
        settings.seed = seed
        guard (0...Int(UInt32.max)).contains(seed) else {
            throw StudioError(.badRequest, "seed: must be 0...4294967295, got \(seed)")
        }
        // Defaults by their decimal spelling: Double(Float(1.2)) is 1.2000000476837158.
        let temperature = settings.temperature ?? Double(Sampler.recommendedTemperature.description) ?? 1.2
        let topP = settings.topP ?? Double(Sampler.recommendedTopP.description) ?? 0.9
        guard (0.1...5).contains(temperature) else {
            throw StudioError(.badRequest, "temperature: must be 0.1...5, got \(temperature)")
        }
        guard topP > 0 && topP <= 1 else {
            throw StudioError(.badRequest, "topP: must be above 0 and at most 1, got \(topP)")
        }
        (settings.temperature, settings.topP) = (temperature, topP)
        let sampler: Sampler
        do { sampler = try Sampler(temperature: Float(temperature), topK: 0, topP: Float(topP)) } catch {
            throw StudioError(.badRequest, "\(error)")
        }
        var request = PieceRequest(seed: UInt64(seed), sampler: sampler)
        var controls = MusicControls()
        controls.chords = settings.chords
        controls.style = settings.style
        controls.key = settings.key
        controls.density = settings.density
        controls.tempo = settings.tempo
        if let guidance = settings.harmonyGuidance {
            guard (0...50).contains(guidance) else {
                throw StudioError(.badRequest, "harmonyGuidance: must be 0...50, got \(guidance)")
            }
            controls.harmonyGuidance = Float(guidance)
        }
        request.controls = controls
        let tokenizer = model.folder.tokenizer
        do {
            let resolved = try controls.resolved(for: tokenizer)
            _ = try controls.steering(tokenizer: tokenizer, resolved: resolved)
        } catch { throw StudioError(.badRequest, StudioError.reason(for: error)) }

        var kept: MIDIFile?
        var expected: Int
        if let infill = settings.infill {
            settings.bars = nil
            let (source, sourceBars) = try sourceFile(infill.take, role: "infill", for: model)
            guard infill.first >= 1, infill.last >= infill.first, infill.last <= sourceBars else {
                throw StudioError(
                    .badRequest,
                    "infill: bars \(infill.first)-\(infill.last) are not inside take \(infill.take), which has "
                        + "\(sourceBars) bars (bars count from 1)")
            }
            guard infill.last - infill.first < Self.maximumBars, infill.last <= Infilling.lastBar else {
                throw StudioError(
                    .badRequest,
                    "infill: rewrite at most \(Self.maximumBars) bars, none past bar \(Infilling.lastBar) (every bar "
                        + "before them is read first), got \(infill.first)-\(infill.last)")
            }
            request.source = .infill(source, bars: infill.first...infill.last)
            do { _ = try Infilling(file: source, gap: (infill.first - 1)..<infill.last, tokenizer: tokenizer) } catch {
                throw StudioError(.badRequest, StudioError.reason(for: error))
            }
            kept = source
            expected = sourceBars
        } else {
            let bars = settings.bars ?? 8
            guard (1...Self.maximumBars).contains(bars) else {
                throw StudioError(.badRequest, "bars: must be 1...\(Self.maximumBars), got \(bars)")
            }
            settings.bars = bars
            request.bars = bars
            expected = bars
            if let prompt = settings.prompt {
                let (source, sourceBars) = try sourceFile(prompt.take, role: "prompt", for: model)
                guard (1...Self.maximumBars).contains(prompt.bars) else {
                    throw StudioError(
                        .badRequest,
                        prompt.bars > Self.maximumBars
                            ? "prompt: a continuation keeps at most \(Self.maximumBars) bars, \(prompt.bars) asked: select "
                                + "the bar to continue from (bar \(Self.maximumBars) or before)"
                            : "prompt: bars must be 1...\(Self.maximumBars), got \(prompt.bars)")
                }
                guard prompt.bars <= sourceBars else {
                    throw StudioError(
                        .badRequest,
                        "prompt: take \(prompt.take) has \(sourceBars) bar\(sourceBars == 1 ? "" : "s"), fewer than the "
                            + "\(prompt.bars) asked to keep")
                }
                request.source = .continuation(source, bars: prompt.bars)
                kept = source.cropped(toBars: 0..<prompt.bars)
                expected += prompt.bars
            }
        }
        return (settings, model, request, kept, expected)
    }

    /// The music of a finished take, and its number of bars as the page shows them; refused
    /// when `model` cannot read any of its notes.
    private func sourceFile(_ id: String, role: String, for model: StudioModel) throws -> (MIDIFile, Int) {
        guard let take = book.take(id) else { throw StudioError(.badRequest, "\(role): there is no take '\(id)'") }
        guard take.status == .done, let file = take.file else {
            throw StudioError(.badRequest, "\(role): take \(id) is not finished yet")
        }
        if !model.folder.tokenizer.config.hasInstruments && file.notesAreAllDrums {
            throw StudioError(
                .badRequest,
                "\(role): take \(id)'s notes are all drums (MIDI channel 10), which the \(model.name) model does not "
                    + "play")
        }
        // A one-part model would fold the parts of a take written by a model of parts into one
        // (continuing) or leave only its own part in the rewritten bars (regenerating), without
        // a word. An upload's tracks may be a piano's two hands, so uploads are read as the
        // command line reads files.
        let parts = file.tracks.filter { !$0.notes.isEmpty && !$0.isDrum }
        if let writer = take.settings?.model, let source = models.first(where: { $0.name == writer }),
            source.folder.tokenizer.config.hasInstruments, !model.folder.tokenizer.config.hasInstruments,
            parts.count > 1
        {
            let names = parts.enumerated().map { $0.element.name ?? "track \($0.offset + 1)" }
            throw StudioError(
                .badRequest,
                "\(role): take \(id) has \(parts.count) parts (\(names.joined(separator: ", "))) and the "
                    + "\(model.name) model writes one: "
                    + (role == "infill"
                        ? "the rewritten bars would keep only its part"
                        : "the kept bars would be folded into one part")
                    + "; choose the \(writer) model, which wrote it")
        }
        return (file, take.view.bars.count)
    }

    private func upload(_ request: Request) async throws -> Response {
        let name = (request.uri.queryParameters.get("name") ?? "upload.mid").trimmingCharacters(in: .whitespaces)
        let shown = String(name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "upload.mid").prefix(100)
        let bytes = try await Self.collect(request, limit: Self.uploadLimit)
        guard !bytes.isEmpty else {
            throw StudioError(.badRequest, "the upload is empty: send the bytes of a .mid file")
        }
        let file: MIDIFile
        do { file = try MIDIFile(bytes: bytes) } catch {
            throw StudioError(.badRequest, "\(shown) is not a MIDI file this studio can read: \(error)")
        }
        guard file.noteCount > 0 else { throw StudioError(.badRequest, "\(shown) holds no notes") }
        guard file.noteCount <= Self.uploadNoteLimit else {
            throw StudioError(
                .badRequest,
                "\(shown) has \(file.noteCount) notes, more than the \(Self.uploadNoteLimit) an upload may have")
        }
        try checkRoom(forNotes: file.noteCount)
        let beats = models[0].beatsPerBar
        let bars = PieceView.barCount(of: file, beatsPerBar: beats)
        guard bars <= REMITokenizer.maximumBars else {
            throw StudioError(
                .badRequest,
                "\(shown) lasts \(bars) bars, more than the \(REMITokenizer.maximumBars) a piece may have (docs/limits.md)"
            )
        }
        let take = book.addUpload(name: String(shown), file: file, beatsPerBar: beats)
        guard let json = book.takeJSON(take.id) else { throw StudioError(.internalServerError, "the upload was lost") }
        // The studio's bars are the model's: a file in another metre is shown, regenerated and
        // continued in them, which a musician counting the score's bars must be told.
        let note = models[0].folder.tokenizer.otherMetre(in: file).map {
            "\(take.name) is marked \($0.numerator)/\($0.denominator); the studio shows it in the models' bars of "
                + "\(beats) beats, which regenerating and continuing count"
        }
        return Self.json(
            Uploaded(
                id: take.id, name: take.name, bars: take.view.bars.count, notes: file.noteCount, take: json, note: note),
            status: .created)
    }

    private func events(_ context: BasicRequestContext) throws -> Response {
        let id = try Self.takeID(context)
        guard let stream = book.events(of: id) else { throw Self.unknownTake(context) }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(
            status: .ok, headers: headers,
            body: .init { writer in
                for await event in stream { try await writer.write(ByteBuffer(string: event)) }
                try await writer.finish(nil)
            })
    }

    private func download(_ context: BasicRequestContext, wav: Bool) throws -> Response {
        let id = try Self.takeID(context)
        guard let take = book.take(id) else { throw Self.unknownTake(context) }
        guard take.status == .done, let file = take.file else {
            throw StudioError(.conflict, "take \(id) is not finished yet: download it when it is done")
        }
        let lowered = take.name.lowercased()
        let base =
            lowered.hasSuffix(".mid") || lowered.hasSuffix(".midi")
            ? String(take.name[..<(take.name.lastIndex(of: ".") ?? take.name.endIndex)]) : take.name
        // `filename` in plain ASCII for every client, `filename*` (RFC 6266) with the name as
        // the musician wrote it, accents and all.
        let plain = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
        let ascii = String(base.unicodeScalars.map { plain.contains($0) || $0 == " " ? Character($0) : "_" })
        let encoded = base.addingPercentEncoding(withAllowedCharacters: plain) ?? ascii
        var headers = HTTPFields()
        let bytes: [UInt8]
        if wav {
            if let kept = take.wav {
                bytes = kept
            } else {
                let synthesizer = PianoSynthesizer()
                guard synthesizer.duration(of: file) <= 20 * 60 else {
                    throw StudioError(.conflict, "take \(id) is over 20 minutes long: download the MIDI instead")
                }
                bytes = WAV.encode(samples: synthesizer.render(file), sampleRate: synthesizer.sampleRate)
                book.keep(wav: bytes, for: id)
            }
            headers[.contentType] = "audio/wav"
        } else {
            do { bytes = try file.encoded() } catch {
                throw StudioError(.internalServerError, "take \(id) cannot be written as MIDI: \(error)")
            }
            headers[.contentType] = "audio/midi"
        }
        let suffix = wav ? "wav" : "mid"
        headers[.contentDisposition] =
            #"attachment; filename="\#(ascii).\#(suffix)"; filename*=UTF-8''\#(encoded).\#(suffix)"#
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: Helpers

    private static func takeID(_ context: BasicRequestContext) throws -> String {
        let id = context.parameters.get("id") ?? ""
        guard (1...32).contains(id.count),
            id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { throw StudioError(.notFound, "there is no take with that id") }
        return id
    }

    private static func unknownTake(_ context: BasicRequestContext) -> StudioError {
        StudioError(.notFound, "there is no take '\(context.parameters.get("id") ?? "")'")
    }

    /// The body of `request`, refused with 413 past `limit` bytes.
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await buffer in request.body {
            guard bytes.count + buffer.readableBytes <= limit else {
                throw StudioError(
                    .contentTooLarge,
                    "the upload is over \(Self.size(limit)): send a smaller file"
                )
            }
            bytes += buffer.readableBytesView
        }
        return bytes
    }

    /// `bytes` in MB or kB, as a person reads a limit.
    static func size(_ bytes: Int) -> String {
        bytes >= 1024 * 1024 ? "\(bytes / 1024 / 1024) MB" : "\(bytes / 1024) kB"
    }

    /// `value` as a JSON response.
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(
            status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: TakeBook.encode(value))))
    }

    /// The keys a take's settings may have: its properties' names, which are its JSON keys.
    private static let settingsFields = Mirror(reflecting: TakeSettings(model: "")).children.compactMap(\.label)

    /// The first whole-number field of a take's settings that `body` gives as a fraction
    /// (`"bars": 1.5`), in words; the decoder's own error names no field for it.
    private static func fractionInWholeNumberField(_ body: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        let fields: [(path: String, value: Any?)] = [
            ("bars", object["bars"]), ("seed", object["seed"]), ("tempo", object["tempo"]),
            ("prompt.bars", (object["prompt"] as? [String: Any])?["bars"]),
            ("infill.first", (object["infill"] as? [String: Any])?["first"]),
            ("infill.last", (object["infill"] as? [String: Any])?["last"]),
        ]
        for (path, value) in fields {
            if let number = value as? Double, number.rounded() != number {
                return "\(path): must be a whole number, got \(number)"
            }
        }
        return nil
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
            let DecodingError.dataCorrupted(context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        case let DecodingError.keyNotFound(key, _): return "\(key.stringValue) is missing"
        default: return "\(error)"
        }
    }

    private static func describe(_ model: StudioModel) -> ModelJSON {
        let config = model.folder.tokenizer.config
        let controls = model.folder.tokenizer.hasControls
        return ModelJSON(
            name: model.name, label: model.label, parts: model.parts, default: model.name == "pretrained",
            controls: .init(
                infill: controls, chords: config.chords, styles: config.styles, key: controls, density: controls,
                tempo: true))
    }

    private static func readPage() throws -> [String: (bytes: [UInt8], type: String)] {
        let files = [
            ("/", "index.html", "text/html; charset=utf-8"), ("/studio.css", "studio.css", "text/css; charset=utf-8"),
            ("/studio.js", "studio.js", "text/javascript; charset=utf-8"),
        ]
        var page: [String: (bytes: [UInt8], type: String)] = [:]
        for (path, name, type) in files {
            guard
                let folder = resourceFolders.first(where: {
                    FileManager.default.fileExists(atPath: $0.appendingPathComponent(name).path)
                }),
                let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path)
            else { throw StudioError(.internalServerError, "the studio's page \(name) is missing from the build") }
            page[path] = ([UInt8](data), type)
        }
        return page
    }

    /// Where the page's files may be (`ResourceFolders`).
    static var resourceFolders: [URL] {
        ResourceFolders.candidates(
            module: "Studio",
            sourceFolder: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                "Resources"),
            inside: "Resources")
    }
}

/// Refuses requests that another site or a rebound DNS name sends (the `Host` must be the
/// studio's own address, and an `Origin`, when present, `http://` and that address), and
/// gives every refusal the studio's JSON shape.
struct StudioGuard<Context: RequestContext>: RouterMiddleware {
    let allowedHosts: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if let host = request.head.authority, !Self.names(host, oneOf: allowedHosts) {
            throw StudioError(.forbidden, "this studio answers only at its own address, not \(host)")
        }
        if let origin = request.headers[.origin] {
            let prefix = "http://"
            guard origin.lowercased().hasPrefix(prefix),
                Self.names(String(origin.dropFirst(prefix.count)), oneOf: allowedHosts)
            else {
                throw StudioError(.forbidden, "requests from \(origin) are refused: open the studio at its own address")
            }
        }
        if request.headers.contains(where: { $0.name.canonicalName == "sec-fetch-site" && $0.value == "cross-site" }) {
            throw StudioError(.forbidden, "requests from another site are refused")
        }
        // Every refusal reaches the page as {"error": reason}, Hummingbird's own included.
        // (Errors the handlers do not expect become 500s with their description.)
        do { return try await next(request, context) } catch let error as StudioError { throw error } catch let error
            as HTTPError
        {
            let reason =
                error.status == .notFound
                ? "there is nothing at \(request.uri.path)" : (error.body ?? "\(error.status.reasonPhrase)")
            throw StudioError(error.status, reason)
        } catch {
            throw StudioError(.internalServerError, "the studio failed: \(error)")
        }
    }

    /// Whether `authority` (a host and perhaps a port, as a `Host` header gives them) names
    /// one of `hosts`. The port is not compared: a page that rebinds its own DNS name to this
    /// computer still sends its own name.
    static func names(_ authority: String, oneOf hosts: Set<String>) -> Bool {
        let value = authority.lowercased()
        if hosts.contains(value) { return true }
        // Strip a port: after the last colon, unless that colon is inside an IPv6 literal.
        guard let colon = value.lastIndex(of: ":"), !value[colon...].contains("]"),
            value[value.index(after: colon)...].allSatisfy(\.isNumber), value.index(after: colon) < value.endIndex
        else { return false }
        return hosts.contains(String(value[..<colon]))
    }
}

private struct ModelJSON: Encodable {
    struct Controls: Encodable {
        var infill: Bool, chords: Bool, styles: [String], key: Bool, density: Bool, tempo: Bool
    }
    var name: String, label: String, parts: [String], `default`: Bool, controls: Controls
}

private struct ModelList: Encodable { var models: [ModelJSON] }
private struct TakeList: Encodable { var takes: [TakeJSON] }
private struct Created: Encodable {
    var id: String
    var queuePosition: Int
}
private struct Uploaded: Encodable {
    var id: String, name: String, bars: Int, notes: Int, take: TakeJSON
    /// What a musician should know about how the file is read (its metre), else nil.
    var note: String?

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(bars, forKey: .bars)
        try c.encode(notes, forKey: .notes)
        try c.encode(take, forKey: .take)
        try c.encode(note, forKey: .note)
    }

    private enum CodingKeys: String, CodingKey { case id, name, bars, notes, take, note }
}
