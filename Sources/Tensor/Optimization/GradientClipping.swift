/// Global gradient-norm clipping, as `torch.nn.utils.clip_grad_norm_`: if the L2 norm of all
/// gradients together exceeds `maxNorm`, every gradient is scaled by `maxNorm / (norm + 1e-6)`.
public enum GradientClipping {
    /// The L2 norm of all elements of all `gradients` together, summed in float64 in a fixed
    /// order (tensor by tensor, 16 lanes of float32 squares per 4,096-element block), so it is
    /// the same on every run and thread count.
    public static func globalNorm(_ gradients: [Tensor]) -> Double {
        var total = 0.0
        for gradient in gradients {
            let pointer = gradient.pointer, count = gradient.count
            var start = 0
            while start < count {
                let end = min(count, start + 4096)
                var lanes = SIMD16<Float>()
                var i = start
                while i + 16 <= end {
                    let x = UnsafeRawPointer(pointer + i).loadUnaligned(as: SIMD16<Float>.self)
                    lanes.addProduct(x, x)
                    i += 16
                }
                var block = 0.0
                for lane in 0..<16 { block += Double(lanes[lane]) }
                while i < end { block += Double(pointer[i]) * Double(pointer[i]); i += 1 }
                total += block
                start = end
            }
        }
        return total.squareRoot()
    }

    /// Scales `gradients` in place so their global norm is at most `maxNorm`; returns the norm
    /// before clipping (for logging).
    @discardableResult
    public static func clip(_ gradients: [Tensor], maxNorm: Float) -> Double {
        let norm = globalNorm(gradients)
        let coefficient = Double(maxNorm) / (norm + 1e-6)
        if coefficient < 1 {
            let scale = Float(coefficient)
            for gradient in gradients {
                let pointer = gradient.pointer
                for i in 0..<gradient.count { pointer[i] *= scale }
            }
        }
        return norm
    }
}
