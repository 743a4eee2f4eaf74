import Tensor

/// The validation pieces to score, joined: all of them when `tokens` is 0 or they fit;
/// otherwise whole pieces in an order shuffled by a fixed seed (the same for every run, so runs
/// compare on the same sample, and spread over the corpus rather than its first composers)
/// until `tokens` is reached, the last one cut.
public func validationSample(_ pieces: [[Int32]], tokens: Int) -> [Int32] {
    let total = pieces.reduce(0) { $0 + $1.count }
    guard tokens > 0, total > tokens else { return pieces.flatMap { $0 } }
    var sample: [Int32] = []
    for piece in SeededShuffle(seed: 0x5A3B1E).apply(pieces) where sample.count < tokens {
        sample += piece.prefix(tokens - sample.count)
    }
    return sample
}
