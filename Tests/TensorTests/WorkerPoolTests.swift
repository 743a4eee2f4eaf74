import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
@testable import Tensor

/// A counter per task index, safe to bump from any thread.
private final class Tally: Sendable {
    let counts: Mutex<[Int]>
    init(_ count: Int) { counts = Mutex(Array(repeating: 0, count: count)) }
    func bump(_ index: Int) { counts.withLock { $0[index] += 1 } }
    var values: [Int] { counts.withLock { $0 } }
}

@Suite struct WorkerPoolTests {
    @Test func everyTaskRunsExactlyOnce() {
        let pool = WorkerPool(helpers: 1)
        for tasks in [0, 1, 2, 3, 7, 64, 1000] {
            let tally = Tally(tasks)
            pool.run(tasks: tasks) { tally.bump($0) }
            #expect(tally.values == Array(repeating: 1, count: tasks), "tasks: \(tasks)")
        }
    }

    @Test func manyJobsInARowLoseNoTask() {
        // Back-to-back jobs are where a helper still finishing one job could claim the next.
        let pool = WorkerPool(helpers: 3)
        let tally = Tally(5)
        for _ in 0..<5_000 { pool.run(tasks: 5) { tally.bump($0) } }
        #expect(tally.values == Array(repeating: 5_000, count: 5))
    }

    @Test func aTaskThatRunsAJobRunsItInline() {
        let pool = WorkerPool(helpers: 1)
        let tally = Tally(4 * 3)
        pool.run(tasks: 4) { outer in
            pool.run(tasks: 3) { inner in tally.bump(outer * 3 + inner) }
        }
        #expect(tally.values == Array(repeating: 1, count: 12))
    }

    @Test func twoCallersAtOnceBothFinish() async {
        let pool = WorkerPool(helpers: 1)
        let tallies = [Tally(16), Tally(16)]
        await withTaskGroup(of: Void.self) { group in
            for tally in tallies {
                group.addTask { for _ in 0..<200 { pool.run(tasks: 16) { tally.bump($0) } } }
            }
        }
        for tally in tallies { #expect(tally.values == Array(repeating: 200, count: 16)) }
    }

    @Test func sleepingHelpersWakeForTheNextJob() async throws {
        let pool = WorkerPool(helpers: 1)
        let tally = Tally(2)
        pool.run(tasks: 2) { tally.bump($0) }
        // Past the spin time the helper sleeps on the condition variable.
        try await Task.sleep(for: .milliseconds(20))
        pool.run(tasks: 2) { tally.bump($0) }
        #expect(tally.values == [2, 2])
    }

    /// The members of a team run at once on distinct threads, and `wait` orders their writes:
    /// after each barrier every member sees what every other wrote before it.
    @Test func aTeamsMembersMeetAtEveryBarrier() {
        let pool = WorkerPool(helpers: 3)
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        slots.initialize(repeating: -1, count: 4)
        defer { slots.deallocate() }
        let seen = Tally(4), wrong = Tally(1)
        for _ in 0..<50 {
            pool.together(threads: 4) { team in
                #expect(team.size == 4)
                seen.bump(team.member)
                for round in 0..<20 {
                    slots[team.member] = round
                    team.wait()
                    if (0..<4).contains(where: { slots[$0] != round }) { wrong.bump(0) }
                    team.wait()
                }
            }
        }
        #expect(seen.values == [50, 50, 50, 50])
        #expect(wrong.values == [0])
    }

    /// Each member of a team runs on the same thread at every call (member 0 on the caller), so
    /// its share of a decoder's weights stays in one core's caches from step to step. Calls in a
    /// row keep the helpers polling, where one could otherwise take another's member; teams of
    /// every size and plain jobs in between.
    @Test func aTeamsMembersKeepTheirThreads() {
        let pool = WorkerPool(helpers: 3)
        let threads = Mutex<[Int: Set<UInt>]>([:])
        let caller = UInt(bitPattern: Int(bitPattern: pthread_self()))
        let tasks = Tally(2)
        for step in 0..<3_000 {
            pool.together(threads: 2 + step % 3) { team in
                let me = UInt(bitPattern: Int(bitPattern: pthread_self()))
                threads.withLock { $0[team.member, default: []].insert(me) }
                team.wait()
            }
            if step % 7 == 0 { pool.run(tasks: 2) { tasks.bump($0) } }
        }
        let seen = threads.withLock { $0 }
        #expect(seen[0] == [caller])
        #expect((0..<4).map { seen[$0]?.count } == [1, 1, 1, 1])
        #expect(Set((0..<4).compactMap { seen[$0]?.first }).count == 4)
        #expect(tasks.values == [429, 429])
    }

    /// A team asked for inside a job, or more members than threads, never waits for a thread
    /// that cannot come: the caller runs alone, or with the helpers there are.
    @Test func aTeamIsNeverLargerThanTheThreadsFreeForIt() {
        let pool = WorkerPool(helpers: 1)
        let sizes = Tally(5)
        pool.together(threads: 8) { team in
            sizes.bump(team.size)
            team.wait()
        }
        pool.run(tasks: 2) { _ in
            pool.together(threads: 2) { team in
                sizes.bump(team.size)
                team.wait()
            }
        }
        #expect(sizes.values == [0, 2, 2, 0, 0])  // two members of 2, then two teams of 1
    }

    @Test func aTeamMeetsAfterItsHelpersSlept() async throws {
        let pool = WorkerPool(helpers: 1)
        let members = Tally(2)
        pool.together(threads: 2) { members.bump($0.member) }
        try await Task.sleep(for: .milliseconds(20))  // past the spin time: the helper sleeps
        pool.together(threads: 2) { team in
            team.wait()
            members.bump(team.member)
        }
        #expect(members.values == [2, 2])
    }

    /// Shares are consecutive, in member order, cut at the granularity, and cover the count.
    @Test func sharesCoverTheCountInOrder() {
        for size in 1...5 {
            for count in [0, 1, 3, 4, 17, 256, 1023] {
                for granularity in [1, 4] {
                    let shares = (0..<size).map {
                        Team(member: $0, size: size, barrier: nil).share(of: count, granularity: granularity)
                    }
                    #expect(shares.first?.lowerBound == 0 && shares.last?.upperBound == count)
                    for (a, b) in zip(shares, shares.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
                    for share in shares.dropLast() {
                        #expect(share.upperBound % granularity == 0 || share.upperBound == count)
                    }
                }
            }
        }
    }
}
