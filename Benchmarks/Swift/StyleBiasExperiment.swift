import Corpus
import Foundation
import Generation
import REMI
import Training

/// The style measurements: held-out pieces' NLL under each composer's style, with the token
/// alone and with a fitted `StyleBias` (docs/control.md, "Style").
extension Lab {
    /// Composers with at least three held-out pieces, and those pieces.
    func heldOutByStyle(_ test: [CorpusFile]) -> (composers: [String], pieces: [String: [CorpusFile]]) {
        let styles = tokenizer.config.styles
        var byStyle: [String: [CorpusFile]] = [:]
        for file in test { if let s = file.style, styles.contains(s) { byStyle[s, default: []].append(file) } }
        return (byStyle.filter { $0.value.count >= 3 }.keys.sorted(), byStyle)
    }

    /// For each composer, up to `pieces` held-out pieces' first `tokens` tokens read under
    /// every composer's style: [composer: [piece: [style readings in `composers` order]]].
    func heldOutReadings(_ test: [CorpusFile], pieces: Int, tokens: Int) throws -> (
        composers: [String], readings: [String: [[StyleBiasFitting.Readings]]]
    ) {
        let styles = tokenizer.config.styles
        let (composers, byStyle) = heldOutByStyle(test)
        var out: [String: [[StyleBiasFitting.Readings]]] = [:]
        for composer in composers {
            for file in byStyle[composer, default: []].prefix(pieces) {
                guard let ids = ids(of: file), ids.count > tokens else { continue }
                let target = Array(ids.prefix(tokens))
                // The key and density stay as training gives them (the key of the whole
                // piece), so that the style is the only thing that changes.
                let key = tokenizer.key(ofIDs: ids)
                out[composer, default: []].append(
                    try composers.map { other in
                        try StyleBiasFitting.read(
                            tokenizer.withHeaders(target, style: styles.firstIndex(of: other), key: key, density: true),
                            stepper: stepper, vocabulary: vocabulary)
                    })
            }
        }
        return (composers, out)
    }

    /// Prints the table: mean NLL per token of each composer's pieces under each style (with
    /// `bias`'s row for that style added, or the token alone when nil), and how many pieces
    /// score lowest under their own.
    func printStyleTable(
        _ title: String, composers: [String], readings: [String: [[StyleBiasFitting.Readings]]], bias: StyleBias?
    ) {
        let styles = tokenizer.config.styles
        let rows = composers.map { other in bias?.row(style: styles.firstIndex(of: other) ?? -1) }
        print("\n## \(title)")
        print("| pieces by | n | " + composers.joined(separator: " | ") + " | own lowest |")
        print("|---|---|" + String(repeating: "---|", count: composers.count + 1))
        for composer in composers {
            var sums = [Double](repeating: 0, count: composers.count), count = 0, ownBest = 0
            let pieces = readings[composer, default: []]
            for piece in pieces {
                let each = zip(piece, rows).map { r, row in StyleBiasFitting.meanNLL(r, bias: row) * Double(r.count) }
                for c in each.indices { sums[c] += each[c] }
                count += piece.first?.count ?? 0
                if let own = composers.firstIndex(of: composer), each[own] == each.min() { ownBest += 1 }
            }
            let cells = sums.map { String(format: "%.4f", $0 / Double(max(count, 1))) }
            print(
                "| \(composer) | \(pieces.count) | " + cells.joined(separator: " | ")
                    + " | \(ownBest) of \(pieces.count) |")
        }
    }

    /// Fits the bias with each L2 weight in `styleL2`, writes each into `out` (when given), and
    /// prints the held-out table for the token alone and for each fit.
    func styleFit(
        train: [CorpusFile], test: [CorpusFile], pieces: Int, tokens: Int, options: StyleBiasFitting.Options,
        styleL2: [Float], out: URL?
    ) throws {
        let openings = try StyleBiasFitting.readOpenings(
            stepper: stepper, tokenizer: tokenizer, files: train, options: options
        ) { style, pieces, rows in print("read \(style): \(pieces) training pieces, \(rows) music tokens") }
        let generic = StyleBiasFitting.fitGeneric(openings, options: options)
        let (composers, readings) = try heldOutReadings(test, pieces: pieces, tokens: tokens)
        printStyleTable(
            "Style token alone: NLL (nats/token) of the first \(tokens) tokens of held-out pieces",
            composers: composers, readings: readings, bias: nil)
        for l2 in styleL2 {
            var o = options
            o.styleL2 = l2
            let bias = StyleBiasFitting.fit(openings, tokenizer: tokenizer, options: o, generic: generic)
            if let out {
                let folder = out.appendingPathComponent("l2-\(l2)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try bias.write(to: folder)
            }
            printStyleTable(
                "With the fitted bias (offsets' L2 \(l2); openings of \(options.tokens) tokens)",
                composers: composers, readings: readings, bias: bias)
        }
    }
}
