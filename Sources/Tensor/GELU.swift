#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// GELU, tanh approximation (GPT-2's `gelu_new`):
/// `gelu(x) = 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
public enum GELU {
    @usableFromInline static let c = Float((2.0 / Double.pi).squareRoot())

    /// `out[i] = gelu(input[i])` for `count` elements.
    public static func forward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
        Parallel.forEachRange(count, minimumChunk: 1 << 14) { range in
            for i in range {
                let x = input[i]
                out[i] = 0.5 * x * (1 + tanh(c * (x + 0.044715 * x * x * x)))
            }
        }
    }

    /// `dInput[i] += gelu'(input[i]) · dOut[i]`.
    public static func backward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
                                input: UnsafePointer<Float>, count: Int) {
        Parallel.forEachRange(count, minimumChunk: 1 << 14) { range in
            for i in range {
                let x = input[i]
                let t = tanh(c * (x + 0.044715 * x * x * x))
                let dz = c * (1 + 3 * 0.044715 * x * x)
                dInput[i] += (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dz) * dOut[i]
            }
        }
    }
}

/// The `tanh` of the C library, named here so the kernels need not import Foundation.
@inline(__always) @usableFromInline
func tanh(_ x: Float) -> Float { tanhf(x) }
