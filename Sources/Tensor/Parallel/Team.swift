import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One thread's place in a group running the same body at once (`WorkerPool.together`):
/// which member it is, how many there are, and a barrier to wait for the others at.
///
/// A member's work is usually its `share` of each piece of work, with `wait()` between pieces
/// that read what the others wrote. Shares depend only on the member index, so results do not
/// depend on which thread ran which member.
public struct Team: Sendable {
    /// This thread's index, 0..<size.
    public let member: Int
    /// Threads in the team (1: the caller alone; `wait` returns at once).
    public let size: Int
    /// Not reference-counted, not even for a call: the pool owns the barrier for its life, and
    /// counting would have every member write the barrier's header at every `wait`, on the cache
    /// line the waiting members poll.
    let barrier: Unretained<Barrier>?

    /// Member `member` of `size`, meeting at `barrier` (nil: a team whose members never wait).
    init(member: Int, size: Int, barrier: Barrier?) {
        self.member = member
        self.size = size
        self.barrier = barrier.map { Unretained($0) }
    }

    /// Returns once every member has called `wait` as many times as this one has; what each
    /// member wrote before its call is visible to all after it. Every member must call it the
    /// same number of times, or the ones that call it more wait for ever.
    public func wait() {
        barrier?.with { $0.wait(members: size) }
    }

    /// This member's part of `0..<count`: consecutive ranges in member order, cut at multiples
    /// of `granularity` (the last range takes the remainder).
    public func share(of count: Int, granularity: Int = 1) -> Range<Int> {
        let blocks = (count + granularity - 1) / granularity
        let first = blocks * member / size * granularity
        let last = Swift.min(count, blocks * (member + 1) / size * granularity)
        return Swift.min(first, count)..<Swift.max(Swift.min(first, count), last)
    }

    /// A counting barrier: the last member to arrive starts the next round.
    final class Barrier: @unchecked Sendable {
        private let arrived = Atomic<Int>(0)
        private let round = Atomic<Int>(0)

        /// Ready for a new team (no member is waiting).
        func reset() { arrived.store(0, ordering: .relaxed) }

        func wait(members: Int) {
            let current = round.load(ordering: .acquiring)
            if arrived.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == members {
                arrived.store(0, ordering: .relaxed)
                round.store(current + 1, ordering: .releasing)
                return
            }
            // Spin, giving the core up now and then in case another thread needs it. A yield
            // is a system call, and the round's end goes unseen while it runs, so it comes only
            // after more polls than a wait between two pieces of a decoder step usually lasts.
            var polls = 0
            while round.load(ordering: .acquiring) == current {
                polls += 1
                if polls & 16383 == 0 { sched_yield() }
            }
        }
    }
}
