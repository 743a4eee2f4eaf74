/// GELU, tanh approximation (GPT-2's `gelu_new`):
/// `gelu(x) = 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
public enum GELU {
    @usableFromInline static let c = Float((2.0 / Double.pi).squareRoot())

    /// `out[i] = gelu(input[i])` for `count` elements.
    public static func forward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
        Parallel.forEachRange(count, minimumChunk: 1 << 14) { range in
            var i = range.lowerBound
            while i + vectorWidth <= range.upperBound {
                let x = loadVector(input + i)
                storeVector(0.5 * x * (1 + vectorTanh(inner(x))), out + i)
                i += vectorWidth
            }
            while i < range.upperBound {
                let x = Vector(repeating: input[i])
                out[i] = (0.5 * x * (1 + vectorTanh(inner(x))))[0]
                i += 1
            }
        }
    }

    /// `dInput[i] += gelu'(input[i]) · dOut[i]` (`write` `.overwrite`: `=`).
    public static func backward(
        dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
        input: UnsafePointer<Float>, count: Int, write: GradientWrite = .add
    ) {
        Parallel.forEachRange(count, minimumChunk: 1 << 14) { range in
            var i = range.lowerBound
            while i + vectorWidth <= range.upperBound {
                let g = derivative(loadVector(input + i)) * loadVector(dOut + i)
                storeVector(write == .add ? loadVector(dInput + i) + g : g, dInput + i)
                i += vectorWidth
            }
            while i < range.upperBound {
                let g = derivative(Vector(repeating: input[i]))[0] * dOut[i]
                dInput[i] = write == .add ? dInput[i] + g : g
                i += 1
            }
        }
    }

    /// √(2/π) (x + 0.044715 x³), the argument of tanh.
    @inline(__always) static func inner(_ x: Vector) -> Vector { c * (x + 0.044715 * x * x * x) }

    /// d gelu / dx = ½(1 + t) + ½ x (1 - t²) √(2/π)(1 + 3·0.044715 x²), t = tanh(inner(x)).
    @inline(__always) static func derivative(_ x: Vector) -> Vector {
        let t = vectorTanh(inner(x))
        let dz = c * (1 + 3 * 0.044715 * x * x)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dz
    }
}

/// tanh lane by lane as 1 - 2 / (e^{2x} + 1) with `vectorExp` (absolute error about 1e-7;
/// saturates to ±1 for |x| > 44 through the exp clamp).
@inline(__always) @usableFromInline
func vectorTanh(_ x: Vector) -> Vector {
    1 - 2 / (vectorExp(2 * x) + 1)
}
