/// An object every thread of a `WorkerPool.together` job uses, called without reference
/// counting: a plain call retains and releases it, an atomic write to its header by every
/// thread at every use, and the header's cache line then moves from core to core. Whoever
/// makes an `Unretained` must keep the object alive for as long as it is used.
@frozen public struct Unretained<Object: AnyObject> {
    @usableFromInline let reference: Unmanaged<Object>

    /// A view of `object`, which the caller keeps alive.
    @inlinable public init(_ object: Object) { reference = .passUnretained(object) }

    /// Calls `body` with the object, without retaining it.
    @inlinable public func with<Result>(_ body: (Object) throws -> Result) rethrows -> Result {
        try reference._withUnsafeGuaranteedRef(body)
    }
}

/// Shared across threads as freely as the object itself.
extension Unretained: Sendable where Object: Sendable {}
