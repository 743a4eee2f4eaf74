extension String {
    /// This text padded with spaces to `width` characters, on the right (left-aligned
    /// column) or, with `left`, on the left (right-aligned, for numbers). Longer text is
    /// left as it is. The benchmark and doctor tables use it.
    func padding(_ width: Int, left: Bool = false) -> String {
        let pad = String(repeating: " ", count: Swift.max(0, width - count))
        return left ? pad + self : self + pad
    }
}
