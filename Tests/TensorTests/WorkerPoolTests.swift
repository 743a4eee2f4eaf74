import Synchronization
import Testing
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
}
