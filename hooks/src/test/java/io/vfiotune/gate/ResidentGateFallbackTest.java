package io.vfiotune.gate;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vfiotune.cli.HookJudge;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Whatever goes wrong with the resident gate, the hook falls back to planning
 * in process (exit {@link GateLauncher#FELL_THROUGH} of the cut launcher) and
 * never takes a verdict it cannot tie to its own question; the gate survives
 * hostile questions and keeps answering; only its own user can ask.
 */
class ResidentGateFallbackTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));

    @TempDir
    Path work;
    private Path spool;
    private Path config;
    private GateLauncher launcher;
    private byte[] applied;
    private byte[] notApplied;

    @BeforeEach
    void install() throws IOException {
        spool = work.resolve("run/gate");
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectory(work.resolve("sysfs")));
        config = Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\ngate-directory=" + spool + "\n");
        launcher = GateLauncher.install(work.resolve("qemu.d"), config);
        applied = Files.readAllBytes(ROOT.resolve("src/golden/clique-t4-pair-switch/expected.xml"));
        notApplied = Files.readAllBytes(ROOT.resolve("src/golden/clique-t4-pair-switch/input.xml"));
        // What the service's own warm-up does: the first plan in a JVM can take longer than the launcher's budget.
        assertEquals(0, HookJudge.INSTANCE.judge("warm-up", config.toString(), applied).status());
    }

    @Test
    void aRunningGateAnswersAndARefusalNamesTheFix() throws Exception {
        try (GateSpool gate = GateSpool.start(spool, HookJudge.INSTANCE::judge, problem -> { })) {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(spool)), "the spool is its owner's only");
            GateLauncher.Result passed = launcher.prepare("vm", config, applied);
            assertEquals(0, passed.status(), passed.stderr());
            GateLauncher.Result refused = launcher.prepare("vm", config, notApplied);
            assertEquals(2, refused.status(), refused.stderr());
            assertTrue(refused.stderr().contains("[HOOK-MISMATCH] domain vm: ") && refused.stderr().contains("'vfio-tune apply vm'"), refused.stderr());
            assertEquals(2, gate.answered());
            assertSpoolHoldsOnly(GateSpool.PID_FILE);
        }
    }

    @Test
    void aStoppedGateIsNotAskedAndCostsNoWait() throws Exception {
        GateSpool gate = GateSpool.start(spool, HookJudge.INSTANCE::judge, problem -> { });
        gate.close();
        assertSpoolHoldsOnly();
        GateLauncher.Result stopped = launcher.prepare("vm", config, applied);
        assertEquals(GateLauncher.FELL_THROUGH, stopped.status(), stopped.stderr());
        // A gate killed outright leaves its pid file behind: the dead pid is not asked either.
        Process exited = new ProcessBuilder("sleep", "30").start();
        String announced = GatePidFile.announcement(exited.pid()).orElseThrow();
        exited.destroyForcibly().waitFor();
        Files.writeString(spool.resolve(GateSpool.PID_FILE), announced);
        GateLauncher.Result dead = launcher.prepare("vm", config, applied);
        assertEquals(GateLauncher.FELL_THROUGH, dead.status(), dead.stderr());
        assertTrue(dead.millis() < 900, "no budget waited for a dead gate: " + dead.millis() + " ms");
        assertSpoolHoldsOnly(GateSpool.PID_FILE);
    }

    /**
     * The dead gate's pid now belongs to another live process (the kernel reuses pids): its start
     * time is not the announced one, so it is not asked, and a new gate takes the spool over.
     */
    @Test
    void aReusedPidIsNotTakenForTheGate() throws Exception {
        Files.createDirectories(spool, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Process other = new ProcessBuilder("sleep", "60").start();
        try {
            String[] live = GatePidFile.announcement(other.pid()).orElseThrow().strip().split(" ");
            Files.writeString(spool.resolve(GateSpool.PID_FILE), live[0] + " " + (Long.parseLong(live[1]) - 1) + "\n");
            GateLauncher.Result reused = launcher.prepare("vm", config, applied);
            assertEquals(GateLauncher.FELL_THROUGH, reused.status(), reused.stderr());
            assertTrue(reused.millis() < 900, "no budget waited for a pid that is not the gate's: " + reused.millis() + " ms");
            // The one-field pid file of an earlier version is no announcement either.
            Files.writeString(spool.resolve(GateSpool.PID_FILE), live[0] + "\n");
            GateLauncher.Result oneField = launcher.prepare("vm", config, applied);
            assertEquals(GateLauncher.FELL_THROUGH, oneField.status(), oneField.stderr());
            assertTrue(oneField.millis() < 900, "no budget waited for an old pid file: " + oneField.millis() + " ms");
            // Even a pid file naming that live process exactly is no gate: a gate holds the spool's lock.
            Files.writeString(spool.resolve(GateSpool.PID_FILE), String.join(" ", live) + "\n");
            try (GateSpool gate = GateSpool.start(spool, HookJudge.INSTANCE::judge, problem -> { })) {
                assertEquals(GatePidFile.announcement(ProcessHandle.current().pid()).orElseThrow(), Files.readString(spool.resolve(GateSpool.PID_FILE)),
                        "the new gate took the spool over");
                assertEquals(0, launcher.prepare("vm", config, applied).status());
                assertEquals(1, gate.answered());
            }
        } finally {
            other.destroyForcibly().waitFor();
        }
    }

    /**
     * The service warms up before it announces itself: until then launchers do not ask
     * (and wait no budget on a cold plan); once warm it answers.
     */
    @Test
    void theGateAnnouncesItselfOnlyOnceWarm() throws Exception {
        CountDownLatch warming = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        GateSpool.Judge slowFirstPlan = (name, config, xml) -> {
            if (name.equals("vfio-tune-warm-up")) {
                warming.countDown();
                awaitQuietly(release);
            }
            return HookJudge.INSTANCE.judge(name, config, xml);
        };
        try (GateSpool gate = GateSpool.startWarm(spool, slowFirstPlan, problem -> { }, config.toString(), applied)) {
            assertTrue(warming.await(30, TimeUnit.SECONDS), "the warm-up runs");
            assertSpoolHoldsOnly();
            GateLauncher.Result cold = launcher.prepare("vm", config, applied);
            assertEquals(GateLauncher.FELL_THROUGH, cold.status(), "not asked while warming: " + cold.stderr());
            assertTrue(cold.millis() < 900, "no budget waited for a gate that is still warming: " + cold.millis() + " ms");
            // Not announced yet, but the spool is taken: a second gate is refused, not a second answerer.
            IOException second = assertThrows(IOException.class, () -> GateSpool.start(spool, HookJudge.INSTANCE::judge, problem -> { }));
            assertTrue(second.getMessage().contains("another vfio-tune gate (still warming up) already answers in " + spool), second.getMessage());
            release.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(spool.resolve(GateSpool.PID_FILE)) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertSpoolHoldsOnly(GateSpool.PID_FILE);
            assertEquals(0, launcher.prepare("vm", config, applied).status());
            assertEquals(1, gate.answered(), "the warm-up is no answer; the real question is");
        }
        assertSpoolHoldsOnly();
    }

    /**
     * A verdict is recorded (syslog) by whoever gives it to the launcher: the gate only for the
     * verdicts the launcher takes; exit 1 and outsized findings are left to the hook's JVM.
     */
    @Test
    void onlyDeliveredVerdictsAreRecordedByTheGate() throws Exception {
        List<String> delivered = Collections.synchronizedList(new ArrayList<>());
        GateSpool.Judge recording = new GateSpool.Judge() {
            @Override
            public GateSpool.Verdict judge(String name, String config, byte[] xml) {
                return HookJudge.INSTANCE.judge(name, config, xml);
            }

            @Override
            public void delivered(String name, String config, GateSpool.Verdict verdict) {
                delivered.add(name + " " + verdict.status());
            }
        };
        try (GateSpool gate = GateSpool.start(spool, recording, problem -> { })) {
            assertEquals(2, launcher.prepare("refused", config, notApplied).status());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (delivered.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10); // recorded just after the reply went out
            }
            GateLauncher.Result malformed = launcher.prepare("malformed", config,
                    "<domain><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'>".getBytes(StandardCharsets.UTF_8));
            assertEquals(GateLauncher.FELL_THROUGH, malformed.status(), "exit 1 is the hook's own to say: " + malformed.stderr());
            assertEquals(List.of("refused 2"), delivered);
            assertEquals(1, gate.answered());
        }
    }

    /**
     * The gate's verdict comes after the budget, while the hook's own JVM is planning: the
     * launcher removed its question when it gave up, so the late verdict goes nowhere and is
     * neither counted nor recorded (the hook's JVM records its own).
     */
    @Test
    void aVerdictAfterTheBudgetIsNeitherCountedNorRecorded() throws Exception {
        List<String> delivered = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch judged = new CountDownLatch(1);
        GateSpool.Judge slow = new GateSpool.Judge() {
            @Override
            public GateSpool.Verdict judge(String name, String config, byte[] xml) {
                GateSpool.Verdict verdict = HookJudge.INSTANCE.judge(name, config, xml);
                try {
                    Thread.sleep(ResidentGate.BUDGET_SECONDS * 1000L + 500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                judged.countDown();
                return verdict;
            }

            @Override
            public void delivered(String name, String config, GateSpool.Verdict verdict) {
                delivered.add(name);
            }
        };
        try (GateSpool gate = GateSpool.start(spool, slow, problem -> { })) {
            GateLauncher.Result late = launcher.withPlanTaking(2).prepare("vm", config, notApplied);
            assertEquals(GateLauncher.FELL_THROUGH, late.status(), late.stderr());
            assertTrue(judged.await(10, TimeUnit.SECONDS), "the gate did judge");
            Thread.sleep(200); // room for a reply that must not go out
            assertEquals(0, gate.answered(), "a verdict nobody takes is no answer");
            assertEquals(List.of(), delivered);
            assertSpoolHoldsOnly(GateSpool.PID_FILE);
        }
    }

    /**
     * The questions of launchers killed outright (SIGKILL; nobody removes them) go once they are
     * older than any launcher's wait; a question that may still be in use stays.
     */
    @Test
    void questionsOfKilledLaunchersAreRemoved() throws Exception {
        try (GateSpool gate = GateSpool.start(spool, HookJudge.INSTANCE::judge, problem -> { })) {
            Path killedWhileWriting = Files.createDirectory(work.resolve(".q.killed"));
            Files.writeString(killedWhileWriting.resolve("question"), "vfio-tune-gate 1\nvm\n\n");
            Path killedWhileWaiting = question("q.killed", "vfio-tune-gate 1\nvm\n\n".getBytes(StandardCharsets.UTF_8), applied);
            Path recent = Files.createDirectory(work.resolve(".q.recent"));
            FileTime old = FileTime.from(Instant.now().minus(GateSpool.ABANDONED_AFTER).minusSeconds(5));
            for (Path abandoned : List.of(killedWhileWriting, killedWhileWaiting)) {
                Files.setLastModifiedTime(abandoned, old);
            }
            for (Path entry : List.of(killedWhileWriting, killedWhileWaiting, recent)) {
                Files.move(entry, spool.resolve(entry.getFileName())); // a rename keeps the old time
            }
            assertEquals(0, launcher.prepare("vm", config, applied).status());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (Files.exists(spool.resolve(".q.killed")) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertSpoolHoldsOnly(".q.recent", GateSpool.PID_FILE);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A live process claims the spool but never answers (a hung service): the budget runs out, and the question is cleaned up. */
    @Test
    void anUnresponsiveGateCostsTheBudgetThenThePlanRunsInProcess() throws Exception {
        Files.createDirectories(spool, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.writeString(spool.resolve(GateSpool.PID_FILE), GatePidFile.announcement(ProcessHandle.current().pid()).orElseThrow());
        GateLauncher.Result silent = launcher.prepare("vm", config, applied);
        assertEquals(GateLauncher.FELL_THROUGH, silent.status(), silent.stderr());
        assertEquals("", silent.stderr(), "the watchdog's work leaves nothing on the hook's stderr, which libvirt would show");
        assertTrue(silent.millis() >= ResidentGate.BUDGET_SECONDS * 1000L && silent.millis() < ResidentGate.BUDGET_SECONDS * 1000L + 3000,
                "waited the budget, and did not hang: " + silent.millis() + " ms");
        assertSpoolHoldsOnly(GateSpool.PID_FILE);
    }

    /** Answers that are not a verdict on this question: another question's digest, a status that is no verdict, a refusal that says nothing, a line that is no finding. */
    @Test
    void garbledAnswersAreNeverTaken() throws Exception {
        Files.createDirectories(spool, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.writeString(spool.resolve(GateSpool.PID_FILE), GatePidFile.announcement(ProcessHandle.current().pid()).orElseThrow());
        List<String> garbage = List.of(
                "vfio-tune-gate 1 " + "0".repeat(64) + " 0\nvfio-tune-gate end\n",
                "vfio-tune-gate 1 SUM 7\nvfio-tune-gate end\n",
                "vfio-tune-gate 1 SUM 2\nvfio-tune-gate end\n",
                "vfio-tune-gate 1 SUM 0\nyou may start\nvfio-tune-gate end\n",
                "\u0000\u00ff garbage\nvfio-tune-gate end\n",
                GateQuestion.IN_PROCESS + "\n" + GateQuestion.END + "\n");
        for (String answer : garbage) {
            try (FakeGate fake = new FakeGate(spool, answer)) {
                GateLauncher.Result result = launcher.prepare("vm", config, notApplied);
                assertEquals(GateLauncher.FELL_THROUGH, result.status(), answer + " => " + result.stderr());
                assertEquals("", result.stderr(), "a garbled answer prints nothing");
                assertEquals(1, fake.answered(), "the fake gate was asked");
            }
        }
    }

    /** Questions no launcher writes: garbage, 100 MB, a file, a symlink for the answer. Each is turned away unread, and the next real question is answered at once. */
    @Test
    void hostileQuestionsCannotStallTheGate() throws Exception {
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        try (GateSpool gate = GateSpool.start(spool, HookJudge.INSTANCE::judge, problems::add)) {
            Path garbage = question("garbage", "hello\n".getBytes(StandardCharsets.UTF_8), "<domain/>".getBytes(StandardCharsets.UTF_8));
            Path huge = question("huge", "vfio-tune-gate 1\nvm\n\n".getBytes(StandardCharsets.UTF_8), new byte[0]);
            try (RandomAccessFile domain = new RandomAccessFile(huge.resolve("domain.xml").toFile(), "rw")) {
                domain.setLength(100L * 1024 * 1024); // sparse: 100 MB that the gate must not read
            }
            Path hugeQuestion = question("huge-question", new byte[64 * 1024], "<domain/>".getBytes(StandardCharsets.UTF_8));
            Path stolen = Files.writeString(work.resolve("precious"), "not an answer\n");
            Path symlinked = work.resolve("symlinked");
            Files.createDirectory(symlinked);
            Files.writeString(symlinked.resolve("question"), "vfio-tune-gate 1\nvm\n\n");
            Files.writeString(symlinked.resolve("domain.xml"), "<domain/>");
            Files.createSymbolicLink(symlinked.resolve("answer"), stolen);
            Files.writeString(work.resolve("q.file"), "not a directory");
            // Held open before they go in, as the launcher holds its own: a FIFO keeps what is written only while someone has it open.
            List<RandomAccessFile> answers = new ArrayList<>();
            for (Path hostile : List.of(garbage, huge, hugeQuestion)) {
                answers.add(new RandomAccessFile(hostile.resolve("answer").toFile(), "rw"));
            }
            try {
                for (Path hostile : List.of(garbage, huge, hugeQuestion, symlinked, work.resolve("q.file"))) {
                    Files.move(hostile, spool.resolve("q." + hostile.getFileName()));
                }
                for (RandomAccessFile answer : answers) {
                    assertEquals(GateQuestion.IN_PROCESS, assertTimeoutPreemptively(Duration.ofSeconds(5), answer::readLine), "turned away: plan in process");
                }
            } finally {
                for (RandomAccessFile answer : answers) {
                    answer.close();
                }
            }
            long started = System.nanoTime();
            GateLauncher.Result after = launcher.prepare("vm", config, applied);
            assertEquals(0, after.status(), after.stderr());
            assertEquals(1, gate.answered(), "the real question got the only verdict");
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(ResidentGate.BUDGET_SECONDS), "answered within the budget");
            assertEquals("not an answer\n", Files.readString(stolen), "a symlinked answer is never written through");
            assertTrue(problems.stream().anyMatch(problem -> problem.contains("the domain is over")), "the huge domain is reported: " + problems);
            assertEquals(5, problems.size(), "each hostile question reported once: " + problems);
        }
    }

    /** The hook's NAME comes from libvirt; one that would break the question's lines is not asked with, it is planned in process. */
    @Test
    void aNameWithANewlineFallsBack() throws Exception {
        try (GateSpool gate = GateSpool.start(spool, HookJudge.INSTANCE::judge, problem -> { })) {
            GateLauncher.Result result = launcher.prepare("vm\nsecond line", config, applied);
            assertEquals(GateLauncher.FELL_THROUGH, result.status(), result.stderr());
            assertEquals(0, gate.answered());
        }
    }

    /** Only the gate's own user (root) can ask: another user cannot make a question in the spool, and so plans in process. */
    @Test
    void anotherUserCannotAsk() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "switching users needs root");
        List<String> asNobody = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");
        try (GateSpool gate = GateSpool.start(spool, HookJudge.INSTANCE::judge, problem -> { })) {
            // Everything up to the spool is open to all, so it is the spool's own mode that keeps them out.
            for (Path open : List.of(work, work.resolve("run"))) {
                Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
            GateLauncher.Result nobody = launcher.prepare("vm", config, applied, asNobody);
            assertEquals(GateLauncher.FELL_THROUGH, nobody.status(), nobody.stderr());
            List<String> mktemp = new ArrayList<>(asNobody);
            mktemp.addAll(List.of("mktemp", "-d", spool + "/.q.XXXXXX"));
            Process ask = new ProcessBuilder(mktemp).redirectErrorStream(true).start();
            String said = new String(ask.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(ask.waitFor() != 0 && said.contains("Permission denied"), "another user cannot put a question in the spool: " + said);
            assertEquals(0, gate.answered());
            assertSpoolHoldsOnly(GateSpool.PID_FILE);
        }
        // And the gate will not serve from a spool that others can enter.
        Files.setPosixFilePermissions(spool, PosixFilePermissions.fromString("rwxr-xr-x"));
        IOException loose = assertThrows(IOException.class, () -> GateSpool.start(spool, HookJudge.INSTANCE::judge, problem -> { }));
        assertTrue(loose.getMessage().contains("mode 0700"), loose.getMessage());
    }

    private Path question(String name, byte[] question, byte[] domain) throws IOException, InterruptedException {
        Path directory = Files.createDirectory(work.resolve(name));
        Files.write(directory.resolve("question"), question);
        Files.write(directory.resolve("domain.xml"), domain);
        Process fifo = new ProcessBuilder("mkfifo", "-m", "600", directory.resolve("answer").toString()).inheritIO().start();
        assertEquals(0, fifo.waitFor());
        return directory;
    }

    /** What is in the spool besides the lock file (which a gate leaves behind on purpose). */
    private void assertSpoolHoldsOnly(String... names) throws IOException {
        try (Stream<Path> entries = Files.list(spool)) {
            assertEquals(List.of(names), entries.map(path -> path.getFileName().toString()).filter(name -> !name.equals(GateSpool.LOCK_FILE)).sorted().toList(),
                    "what is left in the spool");
        }
    }

    /** A stand-in gate that answers every question with fixed text, SUM replaced by the question's true digest. */
    private static final class FakeGate implements AutoCloseable {
        private final WatchService watcher;
        private final Thread thread;
        private final AtomicInteger asked = new AtomicInteger();

        FakeGate(Path spool, String answer) throws IOException {
            watcher = spool.getFileSystem().newWatchService();
            spool.register(watcher, StandardWatchEventKinds.ENTRY_CREATE);
            thread = new Thread(() -> {
                try {
                    while (true) {
                        WatchKey key = watcher.take();
                        for (var event : key.pollEvents()) {
                            if (event.context() instanceof Path name && name.toString().startsWith("q.")) {
                                Path question = spool.resolve(name);
                                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                                digest.update(Files.readAllBytes(question.resolve("question")));
                                digest.update(Files.readAllBytes(question.resolve("domain.xml")));
                                String text = answer.replace("SUM", HexFormat.of().formatHex(digest.digest()));
                                // Counted before the answer goes out: the launcher may have it, and the test read the count, a moment later.
                                asked.incrementAndGet();
                                try (RandomAccessFile fifo = new RandomAccessFile(question.resolve("answer").toFile(), "rw")) {
                                    fifo.write(text.getBytes(StandardCharsets.ISO_8859_1));
                                }
                            }
                        }
                        key.reset();
                    }
                } catch (Exception e) {
                    // closed: the test is over
                }
            }, "fake-gate");
            thread.setDaemon(true);
            thread.start();
        }

        int answered() {
            return asked.get();
        }

        @Override
        public void close() throws Exception {
            watcher.close();
            thread.join(5000);
        }
    }
}
