import Tensor

/// The output layer tied to the token embedding: `logits = h E^T (+ b)`, log-softmax, and the
/// mean cross-entropy over the rows that have targets.
enum TiedOutput {
    /// Log-probabilities of `hidden` [rows, D], in a tensor of `shape` (rows x V elements);
    /// the mean loss when `targets` are given, else 0.
    static func forward(
        hidden: Tensor, embedding: Tensor, bias: Tensor?, targets: [Int32]?,
        rows: Int, width: Int, vocabulary: Int, shape: [Int]
    ) -> (logProbabilities: Tensor, loss: Float) {
        let logp = Tensor(uninitialized: shape)
        Linear.forward(
            out: logp.pointer, input: hidden.pointer, weight: embedding.pointer, layout: .outByIn,
            bias: bias?.pointer, rows: rows, inFeatures: width, outFeatures: vocabulary)
        let losses = Tensor(zeros: [rows])
        // Without targets every row is ignored: the kernel still writes the log-softmax.
        let loss = (targets ?? Array(repeating: ignored, count: rows)).withUnsafeBufferPointer {
            CrossEntropy.forward(
                logProbabilities: logp.pointer, losses: losses.pointer, logits: logp.pointer,
                targets: $0.baseAddress!, rows: rows, classes: vocabulary, ignoreIndex: ignored)
        }
        return (logp, loss)
    }

    /// A target id that is never a token.
    private static let ignored: Int32 = -1

    /// Adds the gradient of the mean loss into `dHidden`, `dEmbedding` and `dBias`.
    static func backward(
        dHidden: Tensor, dEmbedding: Tensor, dBias: Tensor?, logProbabilities: Tensor,
        hidden: Tensor, embedding: Tensor, targets: [Int32], rows: Int, width: Int, vocabulary: Int
    ) {
        let dLogits = Tensor(zeros: [rows, vocabulary])
        targets.withUnsafeBufferPointer {
            CrossEntropy.backward(
                dLogits: dLogits.pointer, logProbabilities: logProbabilities.pointer,
                targets: $0.baseAddress!, rows: rows, classes: vocabulary)
        }
        Linear.backward(
            dInput: dHidden.pointer, dWeight: dEmbedding.pointer, dBias: dBias?.pointer,
            dOut: dLogits.pointer, input: hidden.pointer, weight: embedding.pointer, layout: .outByIn,
            rows: rows, inFeatures: width, outFeatures: vocabulary)
    }
}
