import Tensor

/// A language model read one token at a time, for generation: `prime` reads a context, then
/// each `step` reads one more token. Both return the log-probabilities of the next token.
///
/// The two steppers read the weights as int8 by default (`DecoderMatrix.Precision.fastest`:
/// float16 on a CPU without AVX-512 VNNI or AVX2, where int8 would not be faster): generation is
/// bound by streaming the weights once per token, and int8 rows with integer products make a
/// step faster than float16 and float32 (docs/generation.md has the measured speed-ups).
/// Each weight is rounded to 1/254 of its row's largest; what that costs in NLL is measured
/// by `cadenza eval --decoder-precision` (docs/generation.md).
/// Pass `.float16` (exact for a model stored in float16, like the bundled one) or `.float32`
/// for the model's exact numbers. Either way the same seed gives the same piece.
///
/// The returned buffer belongs to the stepper and is valid until the next call; it holds
/// `vocabularySize` values (log-probabilities are logits up to a constant, which is all the
/// sampler needs).
public protocol TokenStepper: AnyObject {
    /// Number of ids the model predicts over.
    var vocabularySize: Int { get }
    /// Forgets everything read and reads `context` (at least one id) from scratch.
    func prime(_ context: [Int32]) throws -> UnsafeBufferPointer<Float>
    /// Reads one more id.
    func step(_ token: Int32) throws -> UnsafeBufferPointer<Float>
    /// Reads `tokens` after what was read, as `step` would one after another, calling
    /// `body(i, logProbabilities)` with the distribution after `tokens[tokens.startIndex + i]`
    /// (valid during the call). A stepper may read several at once where that gives `step`'s bits.
    func read(_ tokens: ArraySlice<Int32>, each body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws
}

extension TokenStepper {
    /// One `step` per token.
    public func read(_ tokens: ArraySlice<Int32>, each body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        try stepEach(tokens, each: body)
    }

    /// `read` one `step` at a time: what a stepper whose decoder cannot read many tokens with
    /// `step`'s bits falls back to.
    func stepEach(_ tokens: ArraySlice<Int32>, each body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        for (i, token) in tokens.enumerated() { try body(i, try step(token)) }
    }

    /// Calls `body(first + r, row r)` for each of the `count` distributions in `rows` ([count, V]),
    /// as `read` hands a decoder's reading of many tokens on.
    func forEachRow(
        of rows: UnsafeBufferPointer<Float>, count: Int, from first: Int,
        _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void
    ) throws {
        let V = vocabularySize
        for r in 0..<count { try body(first + r, UnsafeBufferPointer(rebasing: rows[r * V..<(r + 1) * V])) }
    }
}

/// What can go wrong while generating.
public enum GenerationError: Error, Equatable, CustomStringConvertible {
    /// `prime` needs at least one token.
    case emptyContext
    /// The requested memory length is not usable.
    case invalidMemoryLength(Int)
    /// A stop condition is out of range (`what` names it).
    case invalidLimit(what: String, value: Int)
    /// The model and the tokenizer disagree on the number of ids.
    case vocabularyMismatch(model: Int, tokenizer: Int)
    /// A control (`--chords`, `--style`, `--infill` ...) cannot be used as given.
    case invalidControl(name: String, reason: String)

    public var description: String {
        switch self {
        case .emptyContext: return "generation needs at least one context token"
        case let .invalidMemoryLength(n): return "memory length must be at least 1 token, got \(n)"
        case let .invalidLimit(what, value): return "\(what) must be at least 1, got \(value)"
        case let .vocabularyMismatch(model, tokenizer):
            return "the model predicts \(model) ids but the vocabulary has \(tokenizer): they do not belong together"
        case let .invalidControl(name, reason): return "--\(name): \(reason)"
        }
    }
}

/// Transformer-XL decoding with memory (spec, "Generation"): the context goes through in
/// segments of the training length, keeping up to `memoryLength` rows per layer, then each
/// token is one T = 1 step of `TransformerXLDecoder` over at most `memoryLength` memory rows,
/// so the cost per token does not depend on how long the piece already is.
///
/// `memoryLength` may exceed the training `mem_len`: relative positions allow it (the spec's
/// "Evaluation may use a longer memory").
public final class TransformerXLStepper: TokenStepper {
    /// The model.
    public let model: TransformerXL
    /// Rows of memory kept per layer while generating.
    public let memoryLength: Int
    /// How the decoder holds the weights while stepping.
    public let precision: DecoderMatrix.Precision
    /// The decoder after `prime`; it owns the buffer `step` returns.
    private var decoder: TransformerXLDecoder?

    /// A stepper keeping `memoryLength` rows of memory (default: the model's
    /// `steppingMemoryLength`), stepping with the weights in `precision`.
    public init(model: TransformerXL, memoryLength: Int? = nil, precision: DecoderMatrix.Precision = .fastest) throws {
        let m = memoryLength ?? model.config.steppingMemoryLength
        guard m >= 1 else { throw GenerationError.invalidMemoryLength(m) }
        self.model = model
        self.memoryLength = m
        self.precision = precision
    }

    public var vocabularySize: Int { model.config.vocabularySize }

    public func prime(_ context: [Int32]) throws -> UnsafeBufferPointer<Float> {
        guard !context.isEmpty else { throw GenerationError.emptyContext }
        var memory = model.emptyMemory(batch: 1, memoryLength: memoryLength)
        var dropout = DropoutSource.evaluation
        let T = model.config.segmentLength, V = vocabularySize
        // All but the last token go through in training-length segments (the reference's
        // evaluation loop); the last one is the decoder's first step, so the next-token
        // distribution always comes from the same code path.
        var start = 0
        while start < context.count - 1 {
            let end = min(start + T, context.count - 1)
            _ = try model.forward(tokens: Array(context[start..<end]), batch: 1, memory: &memory, dropout: &dropout)
            start = end
        }
        decoder = try TransformerXLDecoder(model: model, memory: memory, precision: precision)
        return try step(context[context.count - 1], vocabulary: V)
    }

    public func step(_ token: Int32) throws -> UnsafeBufferPointer<Float> {
        try step(token, vocabulary: vocabularySize)
    }

    private func step(_ token: Int32, vocabulary V: Int) throws -> UnsafeBufferPointer<Float> {
        guard let decoder else { return try prime([token]) }
        let logProbabilities = try decoder.step(tokens: [token])
        return UnsafeBufferPointer(start: logProbabilities.pointer, count: V)
    }

    /// An integer decoder reads the tokens in passes of many (`TransformerXLDecoder.readEach`: the
    /// bits of stepping them, at a fraction of the cost); a float one steps.
    public func read(_ tokens: ArraySlice<Int32>, each body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        guard precision.isInteger, let decoder else { return try stepEach(tokens, each: body) }
        var i = tokens.startIndex
        while i < tokens.endIndex {
            // A bounded stretch at a time: the log-probabilities of every token read are held.
            let count = min(Self.readLength, tokens.endIndex - i)
            let every = try decoder.readEach(Array(tokens[i..<i + count]))
            try forEachRow(of: every, count: count, from: i - tokens.startIndex, body)
            i += count
        }
    }

    /// The most tokens `read` hands the decoder at once.
    static let readLength = 2048
}

/// GPT-2 decoding with its KV cache (`GPT2Decoder`). GPT-2 reads at most `positions` tokens
/// (its learned position table); when the cache is full the window slides: the cache is
/// cleared and the last `positions / 2` tokens are read again in one batched pass, then
/// stepping resumes. So every `positions / 2` tokens cost one extra half-window pass: constant
/// per token on average, and the model always sees between half a window and a full window
/// of context.
public final class GPT2Stepper: TokenStepper {
    /// The model.
    public var model: GPT2 { decoder.model }
    private let decoder: GPT2Decoder
    /// The ids in the window, oldest first (at most `positions`).
    private var window: [Int32] = []
    /// Tokens kept when the window slides: half a window.
    private var keptOnSlide: Int { max(1, model.config.positions / 2) }

    /// How the decoder holds the weights and KV cache while stepping.
    public var precision: DecoderMatrix.Precision { decoder.precision }

    /// A stepper with an empty cache, stepping with weights and cache in `precision`.
    public init(model: GPT2, precision: DecoderMatrix.Precision = .fastest) {
        decoder = GPT2Decoder(model: model, precision: precision)
        window.reserveCapacity(model.config.positions)
    }

    public var vocabularySize: Int { model.config.vocabularySize }

    public func prime(_ context: [Int32]) throws -> UnsafeBufferPointer<Float> {
        guard !context.isEmpty else { throw GenerationError.emptyContext }
        // A context longer than the window keeps its last half window, as a slide would.
        let keep = context.count > model.config.positions ? keptOnSlide : context.count
        window.removeAll(keepingCapacity: true)
        window.append(contentsOf: context.suffix(keep))
        return try readWindow()
    }

    public func step(_ token: Int32) throws -> UnsafeBufferPointer<Float> {
        if window.isEmpty { return try prime([token]) }
        if window.count == model.config.positions {
            window.removeFirst(window.count - keptOnSlide)
            window.append(token)
            return try readWindow()
        }
        window.append(token)
        return try decoder.step(token)
    }

    /// An integer decoder reads the tokens up to each slide in one batched pass (`readEach`: the
    /// bits of stepping them, at the cost of a slide's products); a float one steps.
    public func read(_ tokens: ArraySlice<Int32>, each body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let positions = model.config.positions
        var i = tokens.startIndex
        while i < tokens.endIndex {
            // The tokens that fit before the next slide; one alone is a step.
            let count = min(tokens.endIndex - i, positions - window.count)
            if precision.isInteger, !window.isEmpty, count >= 2,
                let every = try decoder.readEach(Array(tokens[i..<i + count]))
            {
                window.append(contentsOf: tokens[i..<i + count])
                try forEachRow(of: every, count: count, from: i - tokens.startIndex, body)
                i += count
            } else {
                try body(i - tokens.startIndex, try step(tokens[i]))
                i += 1
            }
        }
    }

    /// Clears the cache and reads the whole window.
    private func readWindow() throws -> UnsafeBufferPointer<Float> {
        decoder.reset()
        return try decoder.read(window)
    }
}
