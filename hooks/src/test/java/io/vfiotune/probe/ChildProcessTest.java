package io.vfiotune.probe;

import io.vfiotune.probe.facts.ChildProcess;
import io.vfiotune.probe.facts.QemuVersionProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every child process the hook starts ends within its limit, whatever the child does with its
 * output. The children here are shell scripts that stand in for an emulator that hangs (a
 * wrapper waiting on a lock, a binary on a dead NFS mount), one that leaves a process behind
 * holding its output, and one that prints without end. The bound asserted (10 s) is far below
 * what the children would take (30 s), so a loaded machine does not decide the verdict.
 */
class ChildProcessTest {
    private static final Duration LIMIT = Duration.ofSeconds(2);
    private static final long BOUND_NANOS = Duration.ofSeconds(10).toNanos();

    @TempDir
    Path work;

    @Test
    void aChildThatKeepsItsOutputOpenIsKilledWithWhatItStartedAtTheLimit() throws Exception {
        Path pids = work.resolve("pids");
        Path child = script("hangs", "echo 'QEMU emulator version 9.9.9'\necho $$ > '" + pids + "'\nsleep 30 &\necho $! >> '" + pids + "'\nwait\n");
        long started = System.nanoTime();
        ChildProcess.TimedOut timedOut = assertThrows(ChildProcess.TimedOut.class, () -> ChildProcess.run(List.of(child.toString()), LIMIT, 4096));
        assertTrue(System.nanoTime() - started < BOUND_NANOS, "returned at the limit, not when the child would have ended");
        assertTrue(timedOut.getMessage().contains("did not finish in 2000 ms"), timedOut.getMessage());
        for (String pid : Files.readAllLines(pids, StandardCharsets.UTF_8)) {
            Optional<ProcessHandle> process = ProcessHandle.of(Long.parseLong(pid.strip()));
            assertTrue(process.isEmpty() || !process.get().isAlive() || awaitGone(process.get()), "process " + pid + " was killed");
        }
    }

    @Test
    void aProcessLeftHoldingTheOutputDoesNotHoldTheCaller() throws Exception {
        Path pid = work.resolve("pid");
        Path child = script("leaves", "echo 'QEMU emulator version 9.9.9'\nsleep 30 &\necho $! > '" + pid + "'\nexit 0\n");
        long started = System.nanoTime();
        try {
            ChildProcess.Result result = ChildProcess.run(List.of(child.toString()), LIMIT, 4096);
            assertTrue(System.nanoTime() - started < BOUND_NANOS, "the caller did not wait for what the child left running");
            assertEquals(0, result.status());
            assertTrue(new String(result.output(), StandardCharsets.UTF_8).contains("version 9.9.9"));
        } finally {
            ProcessHandle.of(Long.parseLong(Files.readString(pid).strip())).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    void moreOutputThanAskedForIsDrainedAndDropped() throws Exception {
        // 4 MiB, far over a pipe's 64 KiB: a child whose output is not drained blocks on write.
        ChildProcess.Result result = ChildProcess.run(List.of("head", "-c", Integer.toString(4 << 20), "/dev/zero"), Duration.ofSeconds(60), 100);
        assertEquals(0, result.status());
        assertEquals(100, result.output().length);
    }

    @Test
    void anEmulatorThatDoesNotAnswerIsAFactNotKnownInTime() throws IOException {
        Path emulator = script("qemu-system-x86_64", "echo 'QEMU emulator version 9.9.9'\nexec sleep 30\n");
        long started = System.nanoTime();
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> new QemuVersionProbe(Optional.empty(), LIMIT).version(emulator));
        assertTrue(System.nanoTime() - started < BOUND_NANOS, "the version probe returned at its limit");
        assertTrue(refused.getMessage().startsWith(emulator + " --version did not finish in 2000 ms"), refused.getMessage());
    }

    @Test
    void anEmulatorThatAnswersGivesItsVersion() throws IOException {
        Path emulator = script("qemu-system-x86_64", "echo 'QEMU emulator version 9.2.1 (Debian 1:9.2.1+ds-1)'\necho 'Copyright (c) 2003-2024 Fabrice Bellard'\n");
        assertEquals("9.2.1", new QemuVersionProbe(Optional.empty(), LIMIT).version(emulator).toString());
    }

    private Path script(String name, String body) throws IOException {
        // As root, the version probe runs an emulator as nobody, who must reach it: root's directories, 0755.
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path bin = Files.createDirectories(work.resolve("bin"));
        Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path script = Files.writeString(bin.resolve(name), "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    private static boolean awaitGone(ProcessHandle process) {
        try {
            process.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
            return true;
        } catch (Exception e) {
            return !process.isAlive();
        }
    }
}
