import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The threads the kernels share: helper threads that stay awake between jobs, so handing a
/// job to the second core costs about a microsecond instead of a thread wake-up.
///
/// Why not `DispatchQueue.concurrentPerform`: with one job per core, a helper that wakes late
/// lets the calling thread claim every job itself, and a 2-thread product runs at 1-thread
/// speed: with Dispatch a product's speed jumped between the one- and two-core figures from
/// round to round, with this pool it stays at the two-core one (docs/tensor-kernels.md,
/// docs/tensor-gemm.md). The matrix-vector products of batch-1 generation take microseconds
/// each, too short to be worth a Dispatch hand-off at all, and worth splitting here.
///
/// How it works: `run(tasks:)` publishes a job as one atomic *ticket* (job number, task
/// count, next task) and then claims tasks itself; helpers claim tasks with a compare-and-swap
/// on the same ticket, which succeeds only while that job is current, so a helper never reads
/// a job that has finished. Each task index runs exactly once, on whichever thread claims it,
/// so callers that give each index a fixed piece of work get the same numbers whatever thread
/// ran it. Helpers spin for `spinTime` after their last task, then sleep on a condition
/// variable until the next job. A job posted while another is running (a task that itself
/// calls `run`, or two callers at once) runs on the calling thread alone.
public final class WorkerPool: @unchecked Sendable {
    /// The pool the kernels use: one helper per online processor beyond the first.
    public static let shared = WorkerPool(helpers: max(0, onlineProcessorCount - 1))

    /// How long an idle helper keeps polling for the next job before it sleeps: long enough
    /// to span the gaps between a generation step's kernels (a few microseconds) and a
    /// training step's serial parts, short enough not to hold a core when nothing runs.
    static let spinTime = Duration.microseconds(200)

    /// Helper threads (the caller is the other worker).
    public let helperCount: Int

    /// Helpers whose threads started: a team never waits for one that does not exist.
    private let runningHelpers = Atomic<Int>(0)

    // Ticket layout: job number in bits 32..., task count in bits 16..<32, next task in 0..<16.
    private let ticket = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    /// The current job's body; written only while no task of any job can be claimed.
    private nonisolated(unsafe) var body: ((Int) -> Void)?
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    private static let maximumTasks = 1 << 16 - 1

    /// A pool with `helpers` helper threads, started now and never stopped.
    init(helpers: Int) {
        helperCount = helpers
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        for _ in 0..<helpers {
            // Places count the helpers that started, so helpers 0..<runningHelpers all exist.
            let start = HelperStart(pool: self, place: runningHelpers.load(ordering: .relaxed))
            let context = Unmanaged.passRetained(start).toOpaque()
            var thread = pthread_t()
            let started = pthread_create(
                &thread, nil,
                { context in
                    guard let context else { return nil }
                    let start = Unmanaged<HelperStart>.fromOpaque(context).takeRetainedValue()
                    start.pool.helperLoop(place: start.place)
                    return nil
                }, context)
            if started == 0 {
                pthread_detach(thread)
                runningHelpers.add(1, ordering: .relaxed)
            } else {
                Unmanaged<HelperStart>.fromOpaque(context).release()
            }
        }
    }

    /// Calls `body(index)` once for every index in `0..<tasks`, spread over the calling thread
    /// and the helpers, and returns when all have finished. Which thread runs an index is not
    /// fixed; the set of indices is.
    public func run(tasks: Int, _ body: (Int) -> Void) {
        guard tasks > 1, helperCount > 0, tasks <= Self.maximumTasks,
            busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for index in 0..<tasks { body(index) }
            return
        }
        runClaimed(tasks: tasks, body)
    }

    /// Runs `body` on `threads` threads at once (the caller and helpers; fewer when the pool
    /// has fewer helpers, and one when the pool is already running a job, as from inside a
    /// task), each with its `Team` place, and returns when all have returned. Unlike `run`'s
    /// tasks, the members run concurrently, so they may wait for each other (`Team.wait`):
    /// one job with a few barriers costs less than a job per piece of work when the pieces
    /// take microseconds, as a generation step's products do. Each member runs on the same
    /// thread at every call: member 0 on the caller, member i on the pool's helper i - 1.
    public func together(threads: Int, _ body: (Team) -> Void) {
        let size = Swift.min(threads, runningHelpers.load(ordering: .relaxed) + 1)
        guard size > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            body(Team(member: 0, size: 1, barrier: nil))
            return
        }
        // Every member is a task of one job, on its own thread: member 0 on this one, member i
        // on helper i - 1, which exists (helpers' places count those that started, and the size
        // is at most that count plus one). No member waits for a thread busy with another.
        teamBarrier.reset()
        runClaimed(tasks: size, team: true) { member in
            body(Team(member: member, size: size, barrier: teamBarrier))
        }
    }

    /// What a helper thread starts with: its pool, and its place among the helpers that started.
    private final class HelperStart {
        let pool: WorkerPool, place: Int
        init(pool: WorkerPool, place: Int) {
            self.pool = pool
            self.place = place
        }
    }

    /// The barrier of the current `together` job (one job runs at a time).
    private let teamBarrier = Team.Barrier()

    /// The current `together` job's number (bits 16...) and size (bits 0..<16), stored before its
    /// ticket, read as one value so that a job's number never pairs with another's size.
    private let team = Atomic<Int>(0)

    /// `run`, once `busy` is claimed. A `team` job's tasks are not claimed: task 0 runs on the
    /// calling thread and task i + 1 on helper i, the same thread at every job, so a team
    /// member's share of a decoder's weights (its rows of every product, its heads of the cache)
    /// stays in one core's caches from step to step. Left to the claims, a helper still polling
    /// took member 0 before the caller in most steps, not all, and every swap moved the shares.
    private func runClaimed(tasks: Int, team isTeam: Bool = false, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            self.body = body
            finished.store(0, ordering: .relaxed)
            let job = (ticket.load(ordering: .relaxed) >> 32) + 1
            if isTeam { team.store(job << 16 | tasks, ordering: .relaxed) }
            // A team's ticket starts with every task taken.
            ticket.store(job << 32 | tasks << 16 | (isTeam ? tasks : 0), ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(condition)
                pthread_mutex_unlock(mutex)
            }
            if isTeam {
                body(0)
                finished.add(1, ordering: .releasing)
            }
            while let index = claim(job: job) {
                body(index)
                finished.add(1, ordering: .releasing)
            }
            var polls = 0
            while finished.load(ordering: .acquiring) < tasks {
                polls += 1
                if polls & 1023 == 0 { sched_yield() }
            }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Claims the next task of `job` (nil when it has none left or another job is current).
    @inline(__always)
    private func claim(job: Int) -> Int? {
        var current = ticket.load(ordering: .acquiring)
        while current >> 32 == job, current & 0xFFFF < (current >> 16) & 0xFFFF {
            let (exchanged, original) = ticket.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return current & 0xFFFF }
            current = original
        }
        return nil
    }

    /// Helper `place`'s life: each job's tasks it claims, and member place + 1 of each team job
    /// that large.
    private func helperLoop(place: Int) {
        var seenJob = 0
        while true {
            let job = waitForJob(after: seenJob)
            seenJob = job
            // The ticket read in `waitForJob` orders this after the team's store. A team job cannot
            // finish before this helper runs its member, so `body` is that job's until then.
            let current = team.load(ordering: .relaxed)
            if current >> 16 == job, place + 1 < current & 0xFFFF {
                body?(place + 1)
                finished.add(1, ordering: .releasing)
            }
            while let index = claim(job: job) {
                // The claim keeps the job from finishing, so `body` is this job's until then.
                body?(index)
                finished.add(1, ordering: .releasing)
            }
        }
    }

    /// Polls, then sleeps, until a job numbered after `seenJob` is posted; returns its number.
    private func waitForJob(after seenJob: Int) -> Int {
        let deadline = ContinuousClock.now + Self.spinTime
        var polls = 0
        while true {
            let job = ticket.load(ordering: .acquiring) >> 32
            if job != seenJob { return job }
            polls += 1
            if polls & 255 == 0, ContinuousClock.now > deadline { break }
        }
        // Sleep. The poster stores the ticket, then reads `sleepers`; we add to `sleepers`,
        // then read the ticket under the mutex: one of the two sees the other's write.
        sleepers.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        var job = ticket.load(ordering: .sequentiallyConsistent) >> 32
        while job == seenJob {
            pthread_cond_wait(condition, mutex)
            job = ticket.load(ordering: .sequentiallyConsistent) >> 32
        }
        pthread_mutex_unlock(mutex)
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        return job
    }
}
