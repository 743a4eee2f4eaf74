import Tensor

/// A model's trainable tensors, listed under their checkpoint names in a fixed order.
///
/// The same struct type holds a model's gradients (`zerosLike()`), so an optimizer walks
/// `namedTensors()` of the parameters and of the gradients side by side.
public protocol ParameterSet {
    /// Every tensor with its checkpoint name, in a fixed order (tied weights listed once).
    func namedTensors() -> [(name: String, tensor: Tensor)]
    /// A set of the same shapes filled with zeros (a gradient buffer).
    func zerosLike() -> Self
}

extension ParameterSet {
    /// Sets every tensor to zero (start of a gradient accumulation).
    public func zero() {
        for (_, t) in namedTensors() { t.zero() }
    }

    /// The total number of scalars.
    public var scalarCount: Int { namedTensors().reduce(0) { $0 + $1.tensor.count } }

    /// The tensors as a safetensors file, with `metadata` (e.g. the model config as JSON).
    public func safetensors(metadata: [String: String]) -> SafetensorsFile {
        var tensors: [String: Tensor] = [:]
        for (name, t) in namedTensors() { tensors[name] = t }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }

    /// Copies every tensor's values from `file`, checking names and shapes; a tensor in the file
    /// that no parameter takes is an error too (a config with fewer layers than its weights
    /// would otherwise load, silently, as another model).
    public func load(from file: SafetensorsFile) throws {
        let named = namedTensors()
        for (name, t) in named {
            let source = try file.tensor(name, shape: t.shape)
            t.pointer.update(from: source.pointer, count: t.count)
        }
        let expected = Set(named.map(\.name))
        let unexpected = file.tensors.keys.filter { !expected.contains($0) }.sorted()
        if !unexpected.isEmpty { throw SafetensorsError.unexpectedTensors(names: unexpected) }
    }
}
