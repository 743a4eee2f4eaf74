import Testing

@testable import Tensor

/// `.overwrite` stores what `.add` gives on a buffer of zeros, bit for bit, whatever the buffer
/// held (NaN here): the models' backward passes rely on it to skip clearing fresh buffers.
@Suite struct GradientWriteTests {
    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float.random(in: -1..<1, using: &g) }
    }

    /// Runs `kernel` into zeros with `.add` and into NaNs with `.overwrite`.
    private func expectOverwriteEqualsAddIntoZeros(
        count: Int, _ kernel: (UnsafeMutablePointer<Float>, GradientWrite) -> Void
    ) {
        var added = [Float](repeating: 0, count: count), overwritten = [Float](repeating: .nan, count: count)
        added.withUnsafeMutableBufferPointer { kernel($0.baseAddress!, .add) }
        overwritten.withUnsafeMutableBufferPointer { kernel($0.baseAddress!, .overwrite) }
        #expect(overwritten.map(\.bitPattern) == added.map(\.bitPattern))
        #expect(added.contains { $0 != 0 })
    }

    @Test func reluGELULayerNormAndLinear() {
        let (rows, width, outputs) = (5, 40, 24)
        let dOut = values(rows * width, seed: 1), input = values(rows * width, seed: 2)
        expectOverwriteEqualsAddIntoZeros(count: rows * width) {
            ReLU.backward(dInput: $0, dOut: dOut, output: input, count: rows * width, write: $1)
        }
        expectOverwriteEqualsAddIntoZeros(count: rows * width) {
            GELU.backward(dInput: $0, dOut: dOut, input: input, count: rows * width, write: $1)
        }
        let weight = values(width, seed: 3), mean = values(rows, seed: 4),
            rstd = values(rows, seed: 5).map { 1 + abs($0) }
        expectOverwriteEqualsAddIntoZeros(count: rows * width) { dInput, write in
            var dWeight = [Float](repeating: 0, count: width), dBias = dWeight
            LayerNorm.backward(
                dInput: dInput, dWeight: &dWeight, dBias: &dBias, dOut: dOut, input: input, weight: weight,
                mean: mean, rstd: rstd, rows: rows, width: width, write: write)
        }
        let linearOut = values(rows * outputs, seed: 6), linearWeight = values(outputs * width, seed: 7)
        for layout in [Linear.WeightLayout.outByIn, .inByOut] {
            expectOverwriteEqualsAddIntoZeros(count: rows * width) { dInput, write in
                Linear.backward(
                    dInput: dInput, dWeight: nil, dBias: nil, dOut: linearOut, input: input, weight: linearWeight,
                    layout: layout, rows: rows, inFeatures: width, outFeatures: outputs, inputWrite: write)
            }
        }
    }
}
