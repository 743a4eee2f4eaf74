import Tensor

/// What a LayerNorm forward saved: its output and per-row mean and 1/std (the LayerNorm
/// kernel with the buffers its backward reads; both models' norms are these).
struct NormActivations {
    /// [rows, D], in the input's shape.
    var out: Tensor
    /// [rows].
    var mean: Tensor
    /// [rows].
    var rstd: Tensor

    /// LayerNorm of `input` [rows, D].
    init(_ input: Tensor, _ p: LayerNormParameters, rows: Int, width: Int, epsilon: Float) {
        out = Tensor(uninitialized: input.shape)
        mean = Tensor(uninitialized: [rows])
        rstd = Tensor(uninitialized: [rows])
        LayerNorm.forward(
            out: out.pointer, mean: mean.pointer, rstd: rstd.pointer, input: input.pointer,
            weight: p.weight.pointer, bias: p.bias.pointer, rows: rows, width: width, eps: epsilon)
    }

    /// Adds the gradients into `dInput` (`write` `.overwrite`: stores them there) and `gradients`.
    func backward(
        dInput: Tensor, dOut: Tensor, input: Tensor, _ p: LayerNormParameters,
        gradients: LayerNormParameters, rows: Int, width: Int, write: GradientWrite = .add
    ) {
        LayerNorm.backward(
            dInput: dInput.pointer, dWeight: gradients.weight.pointer, dBias: gradients.bias.pointer,
            dOut: dOut.pointer, input: input.pointer, weight: p.weight.pointer,
            mean: mean.pointer, rstd: rstd.pointer, rows: rows, width: width, write: write)
    }
}
