import Foundation
import Tensor
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 20's data-parallel training, through `mpirun` as a user runs it: two processes on
/// one batch train as one process does, resume with another process count, stop with a
/// checkpoint on Ctrl-C, end the job when one of them dies, and train across two hosts (two
/// network namespaces the test makes). Needs Open MPI (`.ci/run` installs Debian's); skipped
/// with a message without it.
@Suite(
    .serialized, .enabled(if: MPIRun.path != nil, "mpirun not found: install Debian's openmpi-bin and libopenmpi-dev"))
struct DataParallelCLITests {
    /// Twelve generated pieces, enough for a few updates of the tiny model.
    static func songs(in folder: URL) throws -> URL {
        let songs = folder.appendingPathComponent("songs")
        try FileManager.default.createDirectory(at: songs, withIntermediateDirectories: true)
        for i in 0..<12 { try songs.appendingPathComponent("piece-\(i).mid").write(Fixture.scale(bars: 16 + i)) }
        return songs
    }

    static func trainArguments(_ kind: String, songs: URL, out: String, steps: Int, saveEvery: Int = 2) -> [String] {
        [
            "train", "--data", songs.path, "--model", kind, "--preset", "tiny", "--steps", "\(steps)",
            "--batch", "4", "--seg-len", "16", "--eval-every", "3", "--eval-tokens", "512",
            "--save-every", "\(saveEvery)", "--cache", "cache", "--out", out, "--threads", "1",
        ]
    }

    /// The training losses a run logged, in order.
    static func losses(_ run: URL) throws -> [Double] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap { line in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return object?["kind"] as? String == "train" ? object?["loss"] as? Double : nil
            }
    }

    /// The largest difference between two checkpoints' tensors (`file` in both `latest/`).
    static func largestDifference(_ a: URL, _ b: URL, file: String = "model.safetensors") throws -> Float {
        let x = try SafetensorsFile(contentsOf: a.appendingPathComponent("latest/\(file)").path)
        let y = try SafetensorsFile(contentsOf: b.appendingPathComponent("latest/\(file)").path)
        #expect(Set(x.tensors.keys) == Set(y.tensors.keys))
        var worst: Float = 0
        for (name, t) in x.tensors {
            guard let u = y.tensors[name], u.shape == t.shape else { return .infinity }
            for (p, q) in zip(t.values, u.values) { worst = max(worst, abs(p - q)) }
        }
        return worst
    }

    @Test(arguments: ["txl", "gpt2"])
    func twoProcessesTrainAsOneDoes(kind: String) throws {
        let folder = try CLI.scratchFolder("mpi-same")
        defer { MPIRun.killLeftovers(in: folder) }
        let songs = try Self.songs(in: folder)
        let one = try CLI.run(Self.trainArguments(kind, songs: songs, out: "one", steps: 6), in: folder)
        #expect(one.status == 0, "\(one)")
        let two = try MPIRun.run(2, Self.trainArguments(kind, songs: songs, out: "two", steps: 6), in: folder)
        #expect(two.status == 0, "\(two)")
        #expect(two.stdout.contains("data parallel: Open MPI"), "\(two)")
        let again = try MPIRun.run(2, Self.trainArguments(kind, songs: songs, out: "again", steps: 6), in: folder)
        #expect(again.status == 0, "\(again)")

        let (a, b) = (
            try Self.losses(folder.appendingPathComponent("one")), try Self.losses(folder.appendingPathComponent("two"))
        )
        #expect(a.count == 6 && b.count == 6)
        for (x, y) in zip(a, b) { #expect(abs(x - y) < 1e-5, "losses \(a) against \(b)") }
        let difference = try Self.largestDifference(
            folder.appendingPathComponent("one"), folder.appendingPathComponent("two"))
        #expect(difference < 1e-5, "weights differ by \(difference)")
        // Two processes twice: the same bits (the sum's order is fixed, not the arrival order).
        for file in ["model.safetensors", "optimizer.safetensors"] {
            let first = try Data(contentsOf: folder.appendingPathComponent("two/latest/\(file)"))
            let second = try Data(contentsOf: folder.appendingPathComponent("again/latest/\(file)"))
            #expect(first == second, "\(file) differs between two runs of two processes")
        }
    }

    @Test func aRunResumesWithAnotherProcessCount() throws {
        let folder = try CLI.scratchFolder("mpi-resume")
        defer { MPIRun.killLeftovers(in: folder) }
        let songs = try Self.songs(in: folder)
        // A longer --steps stretches the schedule, so the reference is one process, then one again.
        let start = try CLI.run(Self.trainArguments("txl", songs: songs, out: "oneThenOne", steps: 4), in: folder)
        #expect(start.status == 0, "\(start)")
        let straight = try CLI.run(["train", "--resume", "oneThenOne", "--steps", "8", "--threads", "1"], in: folder)
        #expect(straight.status == 0, "\(straight)")
        // Two processes, then one; one process, then two.
        let first = try MPIRun.run(2, Self.trainArguments("txl", songs: songs, out: "twoThenOne", steps: 4), in: folder)
        #expect(first.status == 0, "\(first)")
        let second = try CLI.run(["train", "--resume", "twoThenOne", "--steps", "8", "--threads", "1"], in: folder)
        #expect(second.status == 0, "\(second)")
        let third = try CLI.run(Self.trainArguments("txl", songs: songs, out: "oneThenTwo", steps: 4), in: folder)
        #expect(third.status == 0, "\(third)")
        let fourth = try MPIRun.run(
            2, ["train", "--resume", "oneThenTwo", "--steps", "8", "--threads", "1"], in: folder)
        #expect(fourth.status == 0, "\(fourth)")
        for run in ["twoThenOne", "oneThenTwo"] {
            let difference = try Self.largestDifference(
                folder.appendingPathComponent("oneThenOne"), folder.appendingPathComponent(run))
            #expect(difference < 1e-5, "\(run): weights differ from one process's by \(difference)")
            let memory = try Self.largestDifference(
                folder.appendingPathComponent("oneThenOne"), folder.appendingPathComponent(run),
                file: "memory.safetensors")
            #expect(memory < 1e-4, "\(run): memory differs from one process's by \(memory)")
        }
    }

    @Test func ctrlCOfMPIRunLeavesAUsableCheckpoint() throws {
        let folder = try CLI.scratchFolder("mpi-interrupt")
        defer { MPIRun.killLeftovers(in: folder) }
        let songs = try Self.songs(in: folder)
        let latest = folder.appendingPathComponent("run/latest/state.json")
        var sent = false
        let outcome = try MPIRun.run(
            2, Self.trainArguments("txl", songs: songs, out: "run", steps: 100_000), in: folder, timeout: 120
        ) { pid in
            if !sent && FileManager.default.fileExists(atPath: latest.path) {
                kill(pid, SIGINT)
                sent = true
            }
        }
        #expect(sent && !outcome.timedOut, "\(outcome)")
        #expect(outcome.stdout.contains("stopped at step"), "\(outcome)")
        let resumed = try CLI.run(["train", "--resume", "run", "--steps", "1", "--threads", "1"], in: folder)
        #expect(resumed.status == 0, "\(resumed)")
    }

    @Test func aProcessThatDiesEndsTheJobAndKeepsTheCheckpoint() throws {
        let folder = try CLI.scratchFolder("mpi-dies")
        defer { MPIRun.killLeftovers(in: folder) }
        let songs = try Self.songs(in: folder)
        let latest = folder.appendingPathComponent("run/latest/state.json")
        var killed = false
        let outcome = try MPIRun.run(
            2, Self.trainArguments("txl", songs: songs, out: "run", steps: 100_000, saveEvery: 1), in: folder,
            timeout: 120
        ) { _ in
            if !killed && FileManager.default.fileExists(atPath: latest.path),
                let rank1 = MPIRun.processes(in: folder, rank: 1).first
            {
                kill(rank1, SIGKILL)
                killed = true
            }
        }
        #expect(killed && !outcome.timedOut, "\(outcome)")
        #expect(outcome.status != 0, "\(outcome)")
        #expect((outcome.stdout + outcome.stderr).contains("signal 9"), "\(outcome)")
        // Rank 0 writes every update and may have been in the middle of one: the latest still loads.
        let resumed = try CLI.run(["train", "--resume", "run", "--steps", "1", "--threads", "1"], in: folder)
        #expect(resumed.status == 0, "\(resumed)")
    }

    @Test(.enabled(if: NetworkNamespaces.available, "needs root and iproute2 to make two network namespaces"))
    func twoHostsTrainAsOneHostDoes() throws {
        let folder = try CLI.scratchFolder("mpi-hosts")
        defer { MPIRun.killLeftovers(in: folder) }
        let songs = try Self.songs(in: folder)
        let local = try MPIRun.run(2, Self.trainArguments("txl", songs: songs, out: "local", steps: 4), in: folder)
        #expect(local.status == 0, "\(local)")
        let hosts = try NetworkNamespaces(folder: folder)
        defer { hosts.remove() }
        let remote = try hosts.run(Self.trainArguments("txl", songs: songs, out: "hosts", steps: 4), in: folder)
        #expect(remote.status == 0, "\(remote)")
        #expect(remote.stdout.contains("data parallel"), "\(remote)")
        // TCP between the hosts or shared memory on one: the same bits.
        for file in ["model.safetensors", "optimizer.safetensors", "memory.safetensors"] {
            let a = try Data(contentsOf: folder.appendingPathComponent("local/latest/\(file)"))
            let b = try Data(contentsOf: folder.appendingPathComponent("hosts/latest/\(file)"))
            #expect(a == b, "\(file) differs between one host and two")
        }
    }
}

/// `mpirun`, as the tests start it.
enum MPIRun {
    static let path: URL? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].map { URL(fileURLWithPath: $0) }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }

    /// Lets Open MPI run as root (CI's containers) and keeps it off kernel features that
    /// containers often lack.
    static let environment = [
        "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
    ]

    /// `mpirun -np N cadenza ARGUMENTS` in `folder`.
    ///
    /// Started through perl with no signal blocked: the test runner's threads block SIGINT,
    /// children inherit that mask, and `mpirun` (unlike cadenza) does not unblock it, so a
    /// Ctrl-C would never reach it. A user's shell blocks nothing.
    static func run(
        _ processes: Int, _ arguments: [String], in folder: URL, timeout: Double = 180,
        whileRunning: ((Int32) -> Void)? = nil
    ) throws -> CLI.Outcome {
        try CLI.run(
            unblockingSignals + [path?.path ?? "mpirun", "-np", "\(processes)", "--oversubscribe", CLI.binary.path]
                + arguments, in: folder, environment: environment, timeout: timeout,
            executable: URL(fileURLWithPath: "/usr/bin/perl"), whileRunning: whileRunning)
    }

    /// Perl's arguments to run the rest with an empty signal mask.
    static let unblockingSignals = ["-MPOSIX", "-e", "sigprocmask(SIG_SETMASK, POSIX::SigSet->new); exec @ARGV or die"]

    /// The cadenza processes of rank `rank` working in `folder` (by their environment).
    static func processes(in folder: URL, rank: Int) -> [Int32] {
        cadenzaProcesses().filter { pid in
            let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            let variables = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let cwd = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) ?? ""
            return variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") && cwd == folder.resolvingSymlinksInPath().path
        }
    }

    /// Kills whatever cadenza process still works in `folder` (a failed test's ranks).
    static func killLeftovers(in folder: URL) {
        for rank in 0..<4 { for pid in processes(in: folder, rank: rank) { kill(pid, SIGKILL) } }
    }

    private static func cadenzaProcesses() -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
            return target.hasSuffix("/cadenza")
        }
    }
}

/// Two hosts on one machine: network namespaces joined by a virtual Ethernet pair, each with
/// its own host name; `mpirun` starts in the first and reaches the second through an rsh
/// agent that enters it (where a cluster would use ssh).
struct NetworkNamespaces {
    static var available: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
    }

    let names: [String]
    let addresses = ["10.231.0.1", "10.231.0.2"]
    let agent: URL

    init(folder: URL) throws {
        let tag = "cz\(getpid() % 100_000)"
        names = ["\(tag)a", "\(tag)b"]
        agent = folder.appendingPathComponent("netns-agent")
        let script = """
            #!/bin/sh
            host="$1"; shift
            case "$host" in
              \(addresses[0])) ns=\(names[0]) ;;
              \(addresses[1])) ns=\(names[1]) ;;
              *) echo "unknown host $host" >&2; exit 1 ;;
            esac
            exec ip netns exec "$ns" unshare --uts sh -c "hostname $ns; $*"

            """
        try script.write(to: agent, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: agent.path)
        remove()
        let (a, b) = (names[0], names[1])
        for command in [
            "ip netns add \(a)", "ip netns add \(b)", "ip link add \(a) type veth peer name \(b)",
            "ip link set \(a) netns \(a)", "ip link set \(b) netns \(b)",
            "ip -n \(a) addr add \(addresses[0])/24 dev \(a)", "ip -n \(b) addr add \(addresses[1])/24 dev \(b)",
            "ip -n \(a) link set \(a) up", "ip -n \(b) link set \(b) up",
            "ip -n \(a) link set lo up", "ip -n \(b) link set lo up",
        ] {
            let outcome = try Self.shell(command)
            guard outcome.status == 0 else {
                remove()
                throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "\(command): \(outcome)"])
            }
        }
    }

    /// `mpirun -np 2` from the first host, one process on each, talking over TCP only.
    func run(_ arguments: [String], in folder: URL) throws -> CLI.Outcome {
        let subnet = "10.231.0.0/24"
        let mpirun =
            [
                "mpirun", "-np", "2", "--host", "\(addresses[0]):1,\(addresses[1]):1", "--mca", "plm_rsh_agent",
                agent.path,
                "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", subnet, "--mca", "oob_tcp_if_include",
                subnet,
                CLI.binary.path,
            ] + arguments
        let line = mpirun.map { "'\($0)'" }.joined(separator: " ")
        return try CLI.run(
            ["netns", "exec", names[0], "unshare", "--uts", "sh", "-c", "hostname \(names[0]); exec \(line)"],
            in: folder, environment: MPIRun.environment, timeout: 180, executable: URL(fileURLWithPath: "/usr/sbin/ip"))
    }

    /// Deletes both namespaces (and with them the veth pair).
    func remove() {
        for name in names { _ = try? Self.shell("ip netns delete \(name)") }
    }

    static func shell(_ command: String) throws -> CLI.Outcome {
        try CLI.run(["-c", command], timeout: 20, executable: URL(fileURLWithPath: "/bin/sh"))
    }
}
