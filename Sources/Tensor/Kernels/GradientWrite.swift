/// How a backward kernel writes an input gradient: added to what the buffer holds, where
/// several paths' gradients meet, or stored over it, where the kernel is the buffer's first and
/// only writer, so that the buffer needs no zeroing first (for a training step's activations,
/// clearing them had cost more than some of the kernels that fill them).
public enum GradientWrite: Sendable {
    /// `dInput += gradient`.
    case add
    /// `dInput = gradient` (what `add` gives on a buffer of zeros).
    case overwrite
}
