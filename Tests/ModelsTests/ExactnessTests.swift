import Testing
import Tensor
@testable import Models

/// Adds N(0, deviation) to every parameter so attention is sharp and every term matters
/// (the spec init's 0.02 makes every model nearly uniform, which would hide mistakes).
func sharpen(_ parameters: some ParameterSet, deviation: Float = 0.3, seed: UInt64 = 99) {
    var g = SeededGenerator(seed: seed)
    for (_, t) in parameters.namedTensors() {
        for i in 0..<t.count { t[i] += deviation * g.nextNormal() }
    }
}

/// `count` token ids in 0..<vocabulary from `seed`.
func randomTokens(_ count: Int, vocabulary: Int, seed: UInt64) -> [Int32] {
    var g = SeededGenerator(seed: seed)
    return (0..<count).map { _ in Int32(Int.random(in: 0..<vocabulary, using: &g)) }
}

/// Rows [from, to) of time of a [B, T, V] tensor, flattened stream by stream.
func timeSlice(_ t: Tensor, _ from: Int, _ to: Int) -> [Float] {
    rows(t, from..<to)
}

func tinyTransformerXL(memory: Int, sameLength: Bool = false, clamp: Int = -1) throws -> TransformerXL {
    var config = ModelConfig.tiny(.transformerXL, vocabularySize: 30)
    config.memoryLength = memory
    config.sameLength = sameLength
    config.clampLength = clamp
    let model = try TransformerXL(config: config, generator: SeededGenerator(seed: 5))
    sharpen(model.parameters)
    return model
}

@Test func transformerXLSegmentsWithMemoryEqualOneLongSegment() throws {
    let model = try tinyTransformerXL(memory: 24)
    let (B, N) = (2, 24)
    let tokens = randomTokens(B * N, vocabulary: 30, seed: 1)
    var dropout = DropoutSource.evaluation
    var whole = model.emptyMemory(batch: B)
    let reference = try model.forward(tokens: tokens, batch: B, memory: &whole, dropout: &dropout)
    var memory = model.emptyMemory(batch: B)
    for (from, to) in [(0, 7), (7, 16), (16, 24)] {  // segments of 7, 9 and 8 tokens
        let segment = (0..<B).flatMap { b in tokens[(b * N + from)..<(b * N + to)] }
        let result = try model.forward(tokens: Array(segment), batch: B, memory: &memory, dropout: &dropout)
        expectClose(
            result.logProbabilities.values, timeSlice(reference.logProbabilities, from, to),
            "segment [\(from), \(to)) against the whole sequence")
    }
    #expect(memory.rowsHeld == 24)
    for l in 0..<model.config.layers { expectClose(memory.layers[l].values, whole.layers[l].values, "memory \(l)") }
}

@Test(arguments: [false, true])
func transformerXLIncrementalStepEqualsTheSegmentForward(sameLength: Bool) throws {
    let model = try tinyTransformerXL(memory: 20, sameLength: sameLength, clamp: sameLength ? 6 : -1)
    let B = 2
    let primer = randomTokens(B * 8, vocabulary: 30, seed: 2), next = randomTokens(B * 10, vocabulary: 30, seed: 3)
    var dropout = DropoutSource.evaluation
    var memory = model.emptyMemory(batch: B)
    _ = try model.forward(tokens: primer, batch: B, memory: &memory, dropout: &dropout)
    let decoder = try TransformerXLDecoder(model: model, memory: memory)
    // With memory covering all 17 earlier rows, the 10-token segment sees what each step sees.
    var segmentMemory = memory
    let segment = try model.forward(tokens: next, batch: B, memory: &segmentMemory, dropout: &dropout)
    for t in 0..<10 {
        let logp = try decoder.step(tokens: [next[t], next[10 + t]])
        expectClose(logp.values, timeSlice(segment.logProbabilities, t, t + 1), "step \(t)")
    }
    #expect(decoder.rowsHeld == 18)
}

@Test func transformerXLIncrementalStepKeepsOnlyMemLenRowsAsTheReferenceDoes() throws {
    // mem_len 4 and many more tokens: the decoder's sliding buffer against T = 1 segments.
    let model = try tinyTransformerXL(memory: 4)
    let tokens = randomTokens(13, vocabulary: 30, seed: 4)
    var dropout = DropoutSource.evaluation
    var memory = model.emptyMemory(batch: 1)
    let decoder = try TransformerXLDecoder(model: model, memory: memory)
    for (t, token) in tokens.enumerated() {
        let segment = try model.forward(tokens: [token], batch: 1, memory: &memory, dropout: &dropout)
        expectClose(try decoder.step(tokens: [token]).values, segment.logProbabilities.values, "token \(t)")
    }
    #expect(decoder.rowsHeld == 4 && memory.rowsHeld == 4)
}

@Test func gpt2WithKVCacheEqualsTheFullForward() throws {
    let config = ModelConfig.tiny(.gpt2, vocabularySize: 30)
    let model = try GPT2(config: config, generator: SeededGenerator(seed: 6))
    sharpen(model.parameters)
    let (B, N) = (2, 12)
    let tokens = randomTokens(B * N, vocabulary: 30, seed: 7)
    var dropout = DropoutSource.evaluation
    let full = try model.forward(tokens: tokens, batch: B, dropout: &dropout)
    let cache = model.makeCache(batch: B)
    let prefix = (0..<B).flatMap { b in tokens[(b * N)..<(b * N + 5)] }
    expectClose(
        try model.forward(tokens: prefix, batch: B, cache: cache).values, timeSlice(full.logProbabilities, 0, 5),
        "prefill")
    for t in 5..<N {
        let logp = try model.forward(tokens: [tokens[t], tokens[N + t]], batch: B, cache: cache)
        expectClose(logp.values, timeSlice(full.logProbabilities, t, t + 1), "cached step \(t)")
    }
    #expect(cache.length == N)
    #expect(throws: ModelInputError.contextTooLong(length: 33, positions: 32)) {
        try model.forward(tokens: Array(repeating: 1, count: 2 * 21), batch: B, cache: cache)
    }
}

@Test func passesThatSaveNothingGiveTheSameLogProbabilitiesAndNoGradient() throws {
    let model = try tinyTransformerXL(memory: 6)
    let tokens = randomTokens(2 * 9, vocabulary: 30, seed: 21), targets = randomTokens(2 * 9, vocabulary: 30, seed: 22)
    var dropout = DropoutSource.evaluation
    var saving = model.emptyMemory(batch: 2), lean = model.emptyMemory(batch: 2)
    for _ in 0..<2 {
        let a = try model.forward(tokens: tokens, targets: targets, batch: 2, memory: &saving, dropout: &dropout)
        let b = try model.forward(
            tokens: tokens, targets: targets, batch: 2, memory: &lean, dropout: &dropout,
            saveForBackward: false)
        #expect(a.logProbabilities.values == b.logProbabilities.values && a.loss == b.loss)
        #expect(a.output.values == b.output.values)
        let gradients = model.parameters.zerosLike()
        model.backward(b, gradients: gradients)
        #expect(gradients.namedTensors().allSatisfy { $0.tensor.values.allSatisfy { $0 == 0 } })
    }
    for l in 0..<2 { #expect(saving.layers[l].values == lean.layers[l].values) }

    let gpt = try GPT2(config: .tiny(.gpt2, vocabularySize: 30), generator: SeededGenerator(seed: 23))
    let a = try gpt.forward(tokens: tokens, targets: targets, batch: 2, dropout: &dropout)
    let b = try gpt.forward(tokens: tokens, targets: targets, batch: 2, dropout: &dropout, saveForBackward: false)
    #expect(a.logProbabilities.values == b.logProbabilities.values && a.loss == b.loss)
}

/// Precisions a decoder may step in, with how close each must stay to the model's own forward:
/// float32 within the usual 1e-4; float16 rounds every weight (and GPT-2's cached keys and
/// values) to 11 significant bits, which on these sharpened models (weights ~0.3, logits of
/// tens) moves log-probabilities by up to a few hundredths; int8 rounds each weight to 1/254 of
/// its row's largest, several times coarser again. (int4 moves these sharpened models' outputs by
/// nats, so no tolerance would say much: its products are held to their exact formula in
/// TensorTests, its reads to its steps below, and its NLL in EvaluationTests.)
let decoderTolerances: [(DecoderMatrix.Precision, Float)] = [(.float32, 1e-4), (.float16, 0.05), (.int8, 0.6)]

@Test(arguments: [0, 1, 2])
func gpt2DecoderStepsEqualTheFullForward(case index: Int) throws {
    let (precision, tolerance) = decoderTolerances[index]
    let config = ModelConfig.tiny(.gpt2, vocabularySize: 30)
    let model = try GPT2(config: config, generator: SeededGenerator(seed: 6))
    sharpen(model.parameters)
    let N = 20
    let tokens = randomTokens(N, vocabulary: 30, seed: 8)
    var dropout = DropoutSource.evaluation
    let full = try model.forward(tokens: tokens, batch: 1, dropout: &dropout)
    let decoder = GPT2Decoder(model: model, precision: precision)
    // A batched read of 6 tokens, then one step per token (int8 reads with its own products).
    let read = Array(try decoder.read(Array(tokens[0..<6])))
    expectClose(read, timeSlice(full.logProbabilities, 5, 6), absolute: precision.isInteger ? tolerance : 1e-4, "read")
    for t in 6..<N {
        expectClose(
            Array(try decoder.step(tokens[t])), timeSlice(full.logProbabilities, t, t + 1), absolute: tolerance,
            "\(precision) step \(t)")
    }
    #expect(decoder.length == N)
    decoder.reset()
    expectClose(
        Array(try decoder.step(tokens[0])), timeSlice(full.logProbabilities, 0, 1), absolute: tolerance,
        "\(precision) first step after reset")
    #expect(throws: ModelInputError.tokenOutOfRange(token: 30, index: 0, vocabulary: 30)) { try decoder.step(30) }
}

/// Expects `model`'s decoder in `precision` to give, for each read of `reads` (consecutive
/// ranges of `tokens`) and each step after them, the bits of stepping every token one at a time,
/// at each of `threads`.
private func expectReadsEqualSteps(
    _ model: GPT2, _ precision: DecoderMatrix.Precision, tokens: [Int32], reads: [Range<Int>], threads: [Int],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    func bits(_ values: UnsafeBufferPointer<Float>) -> [UInt32] { values.map(\.bitPattern) }
    let stepped = GPT2Decoder(model: model, precision: precision)
    var expected: [[UInt32]] = []
    for token in tokens { expected.append(bits(try stepped.step(token))) }
    for count in threads {
        let saved = Parallel.threadCount
        Parallel.threadCount = count
        defer { Parallel.threadCount = saved }
        let decoder = GPT2Decoder(model: model, precision: precision)
        for read in reads {
            #expect(
                bits(try decoder.read(Array(tokens[read]))) == expected[read.upperBound - 1],
                "threads \(count): read of \(read.count)", sourceLocation: sourceLocation)
        }
        for t in (reads.last?.upperBound ?? 0)..<tokens.count {
            #expect(
                bits(try decoder.step(tokens[t])) == expected[t], "threads \(count): step \(t)",
                sourceLocation: sourceLocation)
        }
        #expect(decoder.length == tokens.count, sourceLocation: sourceLocation)
    }
}

/// An int8 or int4 decoder reads a context with its own products, many tokens to each: the same
/// bits as stepping the tokens one at a time, for the read's log-probabilities and for every step
/// after (the cached keys and values are the same), whatever the thread count. So a window slide
/// leaves the model where stepping would have. Reads of 1, 5 and 9 tokens (not multiples of the
/// kernel's four), from empty and after what is cached.
@Test(arguments: [DecoderMatrix.Precision.int8, .int4])
func anIntegerReadEqualsSteppingTheSameTokens(precision: DecoderMatrix.Precision) throws {
    let config = ModelConfig.tiny(.gpt2, vocabularySize: 30)
    let model = try GPT2(config: config, generator: SeededGenerator(seed: 6))
    sharpen(model.parameters)
    let tokens = randomTokens(19, vocabulary: 30, seed: 8)
    try expectReadsEqualSteps(model, precision, tokens: tokens, reads: [0..<1, 1..<6, 6..<15], threads: [1, 2, 3])
    let decoder = GPT2Decoder(model: model, precision: precision)
    #expect(throws: ModelInputError.tokenOutOfRange(token: 30, index: 2, vocabulary: 30)) {
        try decoder.read([1, 2, 30])
    }
    #expect(throws: ModelInputError.raggedBatch(count: 0, batch: 1)) { try decoder.read([]) }
    // The same errors as a float decoder's read, which goes through the model's forward.
    #expect(throws: ModelInputError.raggedBatch(count: 0, batch: 1)) {
        try GPT2Decoder(model: model, precision: .float32).read([])
    }
    #expect(throws: ModelInputError.contextTooLong(length: 33, positions: 32)) {
        try decoder.read(Array(repeating: 1, count: 33))
    }
    #expect(decoder.length == 0)
}

/// A GPT-2 stepper reading many known tokens at once (`read(_:each:)`, what stepwise scoring
/// uses) gives every distribution the bits of stepping them one at a time: an integer decoder
/// reads each stretch up to a slide in one pass (its read is its step), a float one steps;
/// over several slides of a 32-token window, after a prime of one token and of many.
@Test(arguments: [DecoderMatrix.Precision.int8, .int4, .float32])
func aStepperReadingManyTokensEqualsSteppingThem(precision: DecoderMatrix.Precision) throws {
    let config = ModelConfig.tiny(.gpt2, vocabularySize: 30)
    let model = try GPT2(config: config, generator: SeededGenerator(seed: 6))
    sharpen(model.parameters)
    let tokens = randomTokens(100, vocabulary: 30, seed: 10)
    #expect(config.positions == 32)
    for primed in [1, 20] {
        let stepped = GPT2Stepper(model: model, precision: precision)
        var expected = [Array(try stepped.prime(Array(tokens[..<primed])))]
        for token in tokens[primed...] { expected.append(Array(try stepped.step(token))) }
        let reader = GPT2Stepper(model: model, precision: precision)
        var read = [Array(try reader.prime(Array(tokens[..<primed])))]
        var indices: [Int] = []
        try reader.read(tokens[primed...]) { i, distribution in
            indices.append(i)
            read.append(Array(distribution))
        }
        #expect(indices == Array(0..<tokens.count - primed))
        #expect(read.map { $0.map(\.bitPattern) } == expected.map { $0.map(\.bitPattern) }, "primed with \(primed)")
    }
}

/// A Transformer-XL stepper reading many known tokens at once (`read(_:each:)`, what stepwise
/// scoring uses) gives every distribution the bits of stepping them one at a time, and leaves the
/// memory where stepping does (the steps after agree too): an integer decoder reads each stretch
/// up to a slide of its buffers in one pass (`TransformerXLDecoder.readEach`), a float one steps.
/// Memories of 6 and 11 rows over 50 tokens, so that reads cross slides and the memory's
/// truncation, with and without same_length, on one thread and two.
@Test(arguments: [DecoderMatrix.Precision.int8, .int4, .float32], [false, true])
func aTransformerXLStepperReadingManyTokensEqualsSteppingThem(
    precision: DecoderMatrix.Precision, sameLength: Bool
) throws {
    let model = try tinyTransformerXL(memory: 6, sameLength: sameLength, clamp: sameLength ? 4 : -1)
    let tokens = randomTokens(60, vocabulary: 30, seed: 12)
    func bits(_ values: UnsafeBufferPointer<Float>) -> [UInt32] { values.map(\.bitPattern) }
    for threads in [1, 2] {
        let saved = Parallel.threadCount
        Parallel.threadCount = threads
        defer { Parallel.threadCount = saved }
        for (memoryLength, primed) in [(6, 1), (6, 9), (11, 3)] {
            let stepped = try TransformerXLStepper(model: model, memoryLength: memoryLength, precision: precision)
            var expected = [bits(try stepped.prime(Array(tokens[..<primed])))]
            for token in tokens[primed...] { expected.append(bits(try stepped.step(token))) }
            let reader = try TransformerXLStepper(model: model, memoryLength: memoryLength, precision: precision)
            var read = [bits(try reader.prime(Array(tokens[..<primed])))]
            var indices: [Int] = []
            try reader.read(tokens[primed..<50]) { i, distribution in
                indices.append(i)
                read.append(bits(distribution))
            }
            for token in tokens[50...] { read.append(bits(try reader.step(token))) }
            #expect(indices == Array(0..<50 - primed))
            // The first distribution that differs, if any (the whole lists would flood a failure).
            #expect(read.count == expected.count)
            let firstDifference = read.indices.first { $0 < expected.count && read[$0] != expected[$0] }
            #expect(
                firstDifference == nil, "threads \(threads), memory \(memoryLength), primed with \(primed)")
        }
    }
}

/// Since steps and reads share one pass whose products take every row's vector at once, a step of
/// two streams gives each the bits of stepping it alone; a read is for one stream, and checks its
/// tokens before reading any.
@Test(arguments: [DecoderMatrix.Precision.int8, .int4])
func transformerXLStreamsSteppedTogetherEqualEachAlone(precision: DecoderMatrix.Precision) throws {
    let model = try tinyTransformerXL(memory: 5)
    let tokens = randomTokens(24, vocabulary: 30, seed: 13)
    let together = try TransformerXLDecoder(model: model, memory: model.emptyMemory(batch: 2), precision: precision)
    var alone = [UInt32](), both = [UInt32]()
    for t in 0..<12 { both += try together.step(tokens: [tokens[t], tokens[12 + t]]).values.map(\.bitPattern) }
    let first = try TransformerXLDecoder(model: model, memory: model.emptyMemory(batch: 1), precision: precision)
    let second = try TransformerXLDecoder(model: model, memory: model.emptyMemory(batch: 1), precision: precision)
    for t in 0..<12 {
        alone += try first.step(tokens: [tokens[t]]).values.map(\.bitPattern)
        alone += try second.step(tokens: [tokens[12 + t]]).values.map(\.bitPattern)
    }
    #expect(both == alone)
    #expect(throws: ModelInputError.memoryMismatch(expected: "one stream", found: "2 streams")) {
        try together.readEach([1, 2, 3, 4])
    }
    #expect(throws: ModelInputError.tokenOutOfRange(token: 30, index: 1, vocabulary: 30)) {
        try first.readEach([1, 30, 2])
    }
    #expect(first.rowsHeld == 5)
}

/// The same over a window long enough that a read's tokens attend over more than 64 and 128
/// keys, with heads of 32 (the width whose reads attend four tokens at a time): a window slide's
/// read leaves the model where stepping would have. (The attention's own bits are held to one
/// query at a time in TensorTests, `manyQueriesEqualOneAtATime`: here rounding the attention's
/// output to integers for the next product can hide a last-bit difference.)
@Test(arguments: [DecoderMatrix.Precision.int8, .int4])
func aLongIntegerReadEqualsSteppingTheSameTokens(precision: DecoderMatrix.Precision) throws {
    let config = ModelConfig(
        kind: .gpt2, layers: 1, modelWidth: 64, heads: 2, headSize: 32, innerWidth: 128, vocabularySize: 30,
        segmentLength: 160, memoryLength: 0, positions: 160)
    let model = try GPT2(config: config, generator: SeededGenerator(seed: 6))
    sharpen(model.parameters)
    try expectReadsEqualSteps(
        model, precision, tokens: randomTokens(150, vocabulary: 30, seed: 9), reads: [0..<61, 61..<140],
        threads: [1, 2])
}

@Test func gpt2DecoderRefusesToReadPastItsWindow() throws {
    let model = try GPT2(config: .tiny(.gpt2, vocabularySize: 30), generator: SeededGenerator(seed: 6))
    let decoder = GPT2Decoder(model: model, precision: .float16)
    _ = try decoder.read(Array(repeating: 1, count: 32))
    #expect(throws: ModelInputError.contextTooLong(length: 33, positions: 32)) { try decoder.step(1) }
}

@Test(arguments: [1, 2])
func transformerXLDecoderInReducedPrecisionStaysCloseToTheSegmentForward(case index: Int) throws {
    let (precision, tolerance) = decoderTolerances[index]
    let model = try tinyTransformerXL(memory: 20)
    let primer = randomTokens(8, vocabulary: 30, seed: 2), next = randomTokens(10, vocabulary: 30, seed: 3)
    var dropout = DropoutSource.evaluation
    var memory = model.emptyMemory(batch: 1)
    _ = try model.forward(tokens: primer, batch: 1, memory: &memory, dropout: &dropout)
    let decoder = try TransformerXLDecoder(model: model, memory: memory, precision: precision)
    let segment = try model.forward(tokens: next, batch: 1, memory: &memory, dropout: &dropout)
    var worst: Float = 0
    for t in 0..<10 {
        let logp = try decoder.step(tokens: [next[t]]).values
        let expected = timeSlice(segment.logProbabilities, t, t + 1)
        expectClose(logp, expected, absolute: tolerance, "\(precision) step \(t)")
        worst = max(worst, zip(logp, expected).map { abs($0 - $1) }.max() ?? 0)
    }
    print("transformer-xl decoder \(precision): worst log-probability difference \(worst)")
    // Rounding the weights does change the numbers: the reduced-precision path is really in use.
    #expect(worst > 1e-5)
}

/// A decoder step runs on a team of threads, each its share of every product and of the heads:
/// the same bits on one thread and on several, for both models, in every precision.
@Test(arguments: DecoderMatrix.Precision.allCases)
func decoderStepsDoNotDependOnTheThreadCount(precision: DecoderMatrix.Precision) throws {
    func run(threads: Int) throws -> [UInt32] {
        let saved = Parallel.threadCount
        Parallel.threadCount = threads
        defer { Parallel.threadCount = saved }
        let tokens = randomTokens(12, vocabulary: 30, seed: 9)
        let gpt2 = try GPT2(config: .tiny(.gpt2, vocabularySize: 30), generator: SeededGenerator(seed: 6))
        let gpt2Decoder = GPT2Decoder(model: gpt2, precision: precision)
        var bits: [Float] = []
        for token in tokens { bits += Array(try gpt2Decoder.step(token)) }
        let txl = try tinyTransformerXL(memory: 6)
        let txlDecoder = try TransformerXLDecoder(model: txl, memory: txl.emptyMemory(batch: 2), precision: precision)
        for t in 0..<6 { bits += try txlDecoder.step(tokens: [tokens[t], tokens[6 + t]]).values }
        return bits.map(\.bitPattern)
    }
    let one = try run(threads: 1)
    #expect(try run(threads: 2) == one)
    #expect(try run(threads: 3) == one)
}
