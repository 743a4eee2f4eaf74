#if canImport(Glibc)
    import Glibc
#endif

/// The models allocate their activations afresh for every pass (plain tensors a pass owns, as
/// llm.c's structs but per call). glibc serves blocks this large with mmap and unmaps them on
/// free, so every pass would fault in (and the kernel zero) every page again, a large share of
/// a training step (measured: docs/models.md). Raising the mmap and trim thresholds keeps
/// freed blocks in the heap for the next pass; peak memory is unchanged. Done once, when a
/// model is built.
enum AllocatorSetup {
    static let once: Void = {
        #if canImport(Glibc)
            // mallopt is not in Swift's Glibc module; look it up. M_TRIM_THRESHOLD = -1 and
            // M_MMAP_THRESHOLD = -3 in <malloc.h>.
            typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
            _ = mallopt(-3, 1 << 30)
            _ = mallopt(-1, 1 << 30)
        #endif
    }()
}
