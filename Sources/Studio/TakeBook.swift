import Foundation
import Generation
import MIDI

/// A take of the session: a generated piece (queued, being written, done or failed) or an
/// uploaded file.
struct Take {
    enum Status: String { case queued, writing, done, failed }

    let id: String
    var status: Status
    var settings: TakeSettings?
    let isUpload: Bool
    let name: String
    /// The piece so far (the kept bars while queued, each finished bar while writing).
    var file: MIDIFile?
    var view: PieceView
    /// The bars of the model's grid: what bar numbers mean for infills and prompts.
    let beatsPerBar: Int
    var error: String?
    /// The events sent so far while writing, replayed to a stream that connects late.
    var writtenBars: [String] = []
    /// The rendered sound, kept once asked for.
    var wav: [UInt8]?
}

/// One job for the generation worker.
struct Job {
    let takeID: String
    let model: String
    let request: PieceRequest
    /// The bars the take will have (the kept ones included).
    let totalBars: Int
}

/// The session's takes and the queue of jobs, shared by the request handlers and the one
/// generation worker. Every change is made under one lock; streams of server-sent events
/// get each change as it happens.
final class TakeBook: @unchecked Sendable {
    private let lock = NSCondition()
    private var takes: [String: Take] = [:]
    private var order: [String] = []
    private var queue: [Job] = []
    private var streams: [String: [UUID: AsyncStream<String>.Continuation]] = [:]
    private var counters: [String: Int] = [:]
    private var closed = false
    /// The take being written.
    private var running: String?
    /// The most jobs waiting at once; more are refused until some are done.
    let queueLimit: Int

    init(queueLimit: Int) {
        self.queueLimit = queueLimit
    }

    /// A new id: `t1`, `t2` ... for generated takes, `u1` ... for uploads.
    private func newID(prefix: String) -> String {
        counters[prefix, default: 0] += 1
        return "\(prefix)\(counters[prefix, default: 0])"
    }

    /// Adds an uploaded file as a finished take.
    func addUpload(name: String, file: MIDIFile, beatsPerBar: Int) -> Take {
        lock.lock()
        defer { lock.unlock() }
        let take = Take(
            id: newID(prefix: "u"), status: .done, settings: nil, isUpload: true, name: unusedName(like: name),
            file: file,
            view: PieceView(file: file, beatsPerBar: beatsPerBar), beatsPerBar: beatsPerBar)
        takes[take.id] = take
        order.append(take.id)
        return take
    }

    /// `name`, or for a name a take already has "song (2).mid", "song (3).mid"...: two uploads of
    /// one file are told apart in the list and in their downloads.
    private func unusedName(like name: String) -> String {
        let taken = Set(takes.values.map(\.name))
        guard taken.contains(name) else { return name }
        let dot = name.lastIndex(of: ".").flatMap {
            ["mid", "midi"].contains(name[$0...].dropFirst().lowercased()) ? $0 : nil
        }
        let (base, ending) = dot.map { (String(name[..<$0]), String(name[$0...])) } ?? (name, "")
        var n = 2
        while taken.contains("\(base) (\(n))\(ending)") { n += 1 }
        return "\(base) (\(n))\(ending)"
    }

    /// Queues a job for a new take (its `file` is what is kept of the source, if any);
    /// nil when the queue is full. Returns the take's id and its place in line (0: next).
    func enqueue(
        settings: TakeSettings, model: String, request: PieceRequest, kept: MIDIFile?, beatsPerBar: Int,
        expectedBars: Int
    ) -> (id: String, position: Int)? {
        lock.lock()
        defer { lock.unlock() }
        guard !closed, queue.count < queueLimit else { return nil }
        let id = newID(prefix: "t")
        let view =
            kept.map { PieceView(file: $0, beatsPerBar: beatsPerBar, minimumBars: expectedBars) }
            ?? PieceView(
                file: MIDIFile(format: .multiTrack, division: .ticksPerBeat(480), tracks: []), beatsPerBar: beatsPerBar,
                minimumBars: expectedBars)
        takes[id] = Take(
            id: id, status: .queued, settings: settings, isUpload: false, name: id, file: kept, view: view,
            beatsPerBar: beatsPerBar)
        order.append(id)
        queue.append(Job(takeID: id, model: model, request: request, totalBars: expectedBars))
        lock.signal()
        return (id, position(of: id))
    }

    /// A take's place in line: 0 when it is being written (or about to be), N when N takes
    /// are written before it, the one being written included.
    private func position(of id: String) -> Int {
        guard takes[id]?.status == .queued, let index = queue.firstIndex(where: { $0.takeID == id }) else { return 0 }
        return index + (running == nil ? 0 : 1)
    }

    /// Waits for the next job and marks its take as being written; nil once closed.
    func nextJob() -> Job? {
        lock.lock()
        defer { lock.unlock() }
        while queue.isEmpty && !closed { lock.wait() }
        guard !closed else { return nil }
        let job = queue.removeFirst()
        running = job.takeID
        takes[job.takeID]?.status = .writing
        send(to: job.takeID, event: "started", json: "{}")
        for waiting in queue {
            send(to: waiting.takeID, event: "queued", json: #"{"position":\#(position(of: waiting.takeID))}"#)
        }
        return job
    }

    /// Records a finished bar of a take being written and tells its streams.
    func finished(bar: Int, of id: String, file: MIDIFile, totalBars: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard var take = takes[id] else { return }
        take.file = file
        take.view = PieceView(file: file, beatsPerBar: take.beatsPerBar, minimumBars: totalBars)
        let notes = take.view.notes(inBar: bar)
        let geometry = take.view.bars.indices.contains(bar - 1) ? take.view.bars[bar - 1] : nil
        let event = BarEvent(
            bar: bar, notes: notes, tracks: take.view.tracks, start: geometry?.start, beats: geometry?.beats)
        let json = Self.encode(event)
        take.writtenBars.append(json)
        takes[id] = take
        send(to: id, event: "bar", json: json)
    }

    /// Marks a take done with its piece.
    func finish(_ id: String, file: MIDIFile, totalBars: Int) {
        lock.lock()
        guard var take = takes[id] else { return lock.unlock() }
        take.file = file
        take.view = PieceView(file: file, beatsPerBar: take.beatsPerBar, minimumBars: totalBars)
        take.status = .done
        take.writtenBars = []
        takes[id] = take
        if running == id { running = nil }
        send(to: id, event: "done", json: Self.encode(["take": json(of: take)]))
        let ending = streams.removeValue(forKey: id) ?? [:]
        lock.unlock()
        // Outside the lock: finishing a stream calls its termination handler, which locks.
        for continuation in ending.values { continuation.finish() }
    }

    /// Marks a take failed, with the reason shown to the musician.
    func fail(_ id: String, reason: String) {
        lock.lock()
        guard takes[id] != nil else { return lock.unlock() }
        takes[id]?.status = .failed
        takes[id]?.error = reason
        takes[id]?.writtenBars = []
        if running == id { running = nil }
        send(to: id, event: "failed", json: Self.encode(["error": reason]))
        let ending = streams.removeValue(forKey: id) ?? [:]
        lock.unlock()
        for continuation in ending.values { continuation.finish() }
    }

    /// The notes every take holds, queued ones' kept bars included: what `allTakes` lists.
    func heldNotes() -> Int {
        lock.lock()
        defer { lock.unlock() }
        return takes.values.reduce(0) { $0 + $1.view.notes.count }
    }

    /// A take, if it exists.
    func take(_ id: String) -> Take? {
        lock.lock()
        defer { lock.unlock() }
        return takes[id]
    }

    /// Keeps a take's rendered sound.
    func keep(wav: [UInt8], for id: String) {
        lock.lock()
        defer { lock.unlock() }
        takes[id]?.wav = wav
    }

    /// A take as JSON (with its place in line).
    func json(of take: Take) -> TakeJSON {
        TakeJSON(
            id: take.id, status: take.status.rawValue, queuePosition: position(of: take.id), error: take.error,
            settings: take.settings, source: take.isUpload ? "upload" : "generated", name: take.name,
            tracks: take.view.tracks, notes: take.view.notes, bars: take.view.bars, tempos: take.view.tempos,
            seconds: take.view.seconds)
    }

    /// Every take as JSON, in the order they were made; only those named in `ids` when given
    /// (names of no take are left out).
    func allTakes(ids: Set<String>? = nil) -> [TakeJSON] {
        lock.lock()
        defer { lock.unlock() }
        return order.filter { ids?.contains($0) ?? true }.compactMap { takes[$0] }.map { json(of: $0) }
    }

    /// The JSON of one take, if it exists.
    func takeJSON(_ id: String) -> TakeJSON? {
        lock.lock()
        defer { lock.unlock() }
        return takes[id].map { json(of: $0) }
    }

    /// A stream of server-sent events for a take: first its state so far, then each change;
    /// it ends after `done` or `failed`. nil for an unknown take.
    func events(of id: String) -> AsyncStream<String>? {
        lock.lock()
        defer { lock.unlock() }
        guard let take = takes[id] else { return nil }
        let key = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .unbounded)
        switch take.status {
        case .done:
            continuation.yield(Self.event("done", Self.encode(["take": json(of: take)])))
            continuation.finish()
            return stream
        case .failed:
            continuation.yield(Self.event("failed", Self.encode(["error": take.error ?? "failed"])))
            continuation.finish()
            return stream
        case .queued:
            continuation.yield(Self.event("queued", #"{"position":\#(position(of: id))}"#))
        case .writing:
            continuation.yield(Self.event("started", "{}"))
            for bar in take.writtenBars { continuation.yield(Self.event("bar", bar)) }
        }
        streams[id, default: [:]][key] = continuation
        continuation.onTermination = { [weak self] _ in self?.dropStream(key, of: id) }
        // A comment line now and then keeps an idle stream from being cut by a proxy.
        Task {
            while true {
                try await Task.sleep(for: .seconds(15))
                if case .terminated = continuation.yield(": ping\n\n") { return }
            }
        }
        return stream
    }

    private func dropStream(_ key: UUID, of id: String) {
        lock.lock()
        defer { lock.unlock() }
        streams[id]?[key] = nil
    }

    /// Ends the worker's wait and every stream.
    func close() {
        lock.lock()
        closed = true
        lock.broadcast()
        let ending = streams.values.flatMap(\.values)
        streams = [:]
        lock.unlock()
        for continuation in ending { continuation.finish() }
    }

    private func send(to id: String, event: String, json: String) {
        for continuation in streams[id, default: [:]].values { continuation.yield(Self.event(event, json)) }
    }

    /// One server-sent event: its name and one line of JSON.
    static func event(_ name: String, _ json: String) -> String { "event: \(name)\ndata: \(json)\n\n" }

    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).flatMap { String(bytes: $0, encoding: .utf8) } ?? "{}"
    }
}

/// The data of a `bar` event.
struct BarEvent: Encodable {
    var bar: Int
    var notes: [NoteJSON]
    var tracks: [TrackJSON]
    var start: Double?
    var beats: Double?
}
