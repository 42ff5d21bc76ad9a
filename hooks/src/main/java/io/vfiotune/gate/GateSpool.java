package io.vfiotune.gate;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import static java.util.Objects.requireNonNull;

/**
 * The resident gate: answers the hook's {@code prepare begin} questions that
 * arrive in a spool directory only its own user can write (mode 0700).
 *
 * <p>Why a directory and not a socket: the hook is a POSIX shell script, and
 * the shell can make files and FIFOs but cannot speak to a Unix socket; a JVM
 * client that could costs about 1.7 times a hello-world just to connect (the
 * JDK's Unix-socket start-up seeds a SecureRandom and bootstraps lambdas), which
 * leaves no room for a 2x target. With a spool the whole client is a few
 * coreutils calls in the launcher.
 *
 * <p>One question is a directory {@code q.*}, renamed in once complete, so the
 * service never sees half a request:
 * <ul>
 * <li>{@code question}: {@value GateQuestion#QUESTION_HEADER}, the domain name, the configuration file the hook reads
 * ({@code ""} for the default), one per line;</li>
 * <li>{@code domain.xml}: the domain, as libvirt gave it;</li>
 * <li>{@code answer}: a FIFO the client already holds open.</li>
 * </ul>
 * The answer is {@code vfio-tune-gate 1 SHA256 STATUS}, the findings, and
 * {@value GateQuestion#END}; SHA256 is of {@code question} followed by {@code domain.xml},
 * so the client takes it for exactly what it asked. A question the service
 * does not take (too large, malformed, not its user's) is answered
 * {@value GateQuestion#IN_PROCESS}: the client then plans in process at once.
 *
 * <p>Sizes are checked before anything is read, and an answer never exceeds a
 * pipe's buffer, so no client can make a handler block; verdicts are computed
 * one at a time, as the hook's code expects one plan per JVM.
 * <p>One file over 350 lines on purpose: the watch loop, the handlers, the lock and the pid file
 * share one lifecycle (start, warm-up, announce, close) whose ordering is the point; a
 * question's own files are in GateQuestion and the pid file's format in GatePidFile.
 */
public final class GateSpool implements AutoCloseable {
    /**
     * The file that tells the launcher someone answers: the gate's pid and that
     * process's start time (clock ticks since boot, field 22 of
     * {@code /proc/PID/stat}). Without it, or when no live process has both, the
     * launcher asks no one; the start time keeps a pid the kernel reused for
     * another process from costing every VM start the whole budget.
     */
    public static final String PID_FILE = "pid";
    /**
     * Locked (flock) by the gate that answers, from before its watch starts until
     * it stops: one gate per spool, even while the first is still warming up and
     * has not announced itself. Never removed, so it never changes under a lock.
     */
    public static final String LOCK_FILE = "lock";
    /**
     * A launcher removes its question within its budget, or when it gives up; only one killed
     * outright (SIGKILL) leaves it behind. Anything this old in the spool is such a leftover.
     */
    public static final Duration ABANDONED_AFTER = Duration.ofSeconds(60);
    private static final int HANDLERS = 2;
    private static final int WAITING = 32;

    /** What the gate would answer for one question, computed as the hook computes it. */
    @FunctionalInterface
    public interface Judge {
        Verdict judge(String name, String config, byte[] xml);

        /**
         * The launcher got this verdict: it prints the findings and exits with it.
         * Only now may the gate record them (syslog) as the hook would: a verdict
         * that is not delivered (exit 1, too large, no reader) is given again by
         * the hook's own JVM, which records it itself.
         */
        default void delivered(String name, String config, Verdict verdict) {
        }
    }

    /** The gate's exit status and the findings it printed, one per line. */
    public record Verdict(int status, String findings) {
    }

    private final Path directory;
    private final UserPrincipal owner;
    private final WatchService watcher;
    private final Judge judge;
    private final Consumer<String> log;
    private final ThreadPoolExecutor handlers;
    private final Object judging = new Object();
    /** Guards {@code closed} and the pid file; never held while judging, so stopping never waits for a plan. */
    private final Object announcing = new Object();
    private final AtomicLong answered = new AtomicLong();
    private final FileChannel lock;
    /** Set by close(): a warm-up that ends after close must not announce. */
    private boolean closed;

    private GateSpool(Path directory, FileChannel lock, UserPrincipal owner, WatchService watcher, Judge judge, Consumer<String> log) {
        this.directory = directory;
        this.lock = lock;
        this.owner = owner;
        this.watcher = watcher;
        this.judge = judge;
        this.log = log;
        this.handlers = new ThreadPoolExecutor(HANDLERS, HANDLERS, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(WAITING), runnable -> {
            Thread thread = new Thread(runnable, "vfio-tune-gate");
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Starts answering in {@code directory}, made 0700 when missing, and
     * announces itself at once. A directory that others can enter or that
     * belongs to someone else is refused, and so is one where another live
     * gate answers; leftovers of a gate that died are removed.
     *
     * @param log where refused questions are reported, one line each
     */
    public static GateSpool start(Path directory, Judge judge, Consumer<String> log) throws IOException {
        GateSpool gate = open(directory, judge, log);
        try {
            gate.announce();
        } catch (IOException | RuntimeException e) {
            gate.close();
            throw e;
        }
        return gate;
    }

    /**
     * As {@link #start(Path, Judge, Consumer)}, but judges {@code warmUpXml} (a
     * question nobody asked) first, in the background, and announces itself
     * only then. The first plan in a JVM loads and links about 3,000 classes and
     * takes longer than the launcher's budget: announced before that, the first
     * VM start after the service started would wait the whole budget and then
     * plan in process anyway.
     */
    public static GateSpool startWarm(Path directory, Judge judge, Consumer<String> log, String warmUpConfig, byte[] warmUpXml) throws IOException {
        GateSpool gate = open(directory, judge, log);
        gate.handlers.execute(() -> {
            try {
                synchronized (gate.judging) {
                    judge.judge("vfio-tune-warm-up", warmUpConfig, warmUpXml);
                }
            } catch (RuntimeException e) {
                log.accept("the warm-up plan failed (" + e + "); answering cold");
            } finally {
                try {
                    gate.announce();
                } catch (IOException | RuntimeException e) {
                    log.accept("cannot announce the gate in " + gate.directory + " (" + e.getMessage() + "); the hook plans in process");
                }
            }
        });
        return gate;
    }

    private static GateSpool open(Path directory, Judge judge, Consumer<String> log) throws IOException {
        requireNonNull(judge, "judge is null");
        requireNonNull(log, "log is null");
        Path spool = directory.toAbsolutePath().normalize();
        Files.createDirectories(spool.getParent());
        if (!Files.exists(spool, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectory(spool, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        PosixFileAttributes attributes = Files.readAttributes(spool, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        UserPrincipal self = Files.getOwner(Files.createTempFile(spool, ".owner", ".tmp"), LinkOption.NOFOLLOW_LINKS);
        try (DirectoryStream<Path> probes = Files.newDirectoryStream(spool, ".owner*.tmp")) {
            for (Path probe : probes) {
                Files.deleteIfExists(probe);
            }
        }
        if (!attributes.isDirectory() || !attributes.owner().equals(self)
                || !EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE).containsAll(attributes.permissions())) {
            throw new IOException(spool + " must be a directory of " + self.getName() + " with mode 0700, and is "
                    + (attributes.isDirectory() ? "of " + attributes.owner().getName() + " with mode " + PosixFilePermissions.toString(attributes.permissions()) : "not a directory"));
        }
        FileChannel lock = FileChannel.open(spool.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        WatchService watcher;
        try {
            if (!locked(lock)) {
                throw new IOException("another vfio-tune gate" + GatePidFile.liveGate(spool).map(pid -> " (pid " + pid + ")").orElse(" (still warming up)")
                        + " already answers in " + spool);
            }
            try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(spool, "{q.,.q.}*")) {
                for (Path leftover : leftovers) {
                    GateQuestion.delete(leftover);
                }
            }
            watcher = spool.getFileSystem().newWatchService();
            spool.register(watcher, StandardWatchEventKinds.ENTRY_CREATE);
        } catch (IOException | RuntimeException e) {
            lock.close(); // closing the channel releases the lock
            throw e;
        }
        GateSpool gate = new GateSpool(spool, lock, self, watcher, judge, log);
        Thread loop = new Thread(gate::watchLoop, "vfio-tune-gate-watch");
        loop.setDaemon(true);
        loop.start();
        return gate;
    }

    /** Whether this process now holds the spool's lock; another gate in this JVM holds it too. */
    private static boolean locked(FileChannel lock) throws IOException {
        try {
            return lock.tryLock() != null;
        } catch (OverlappingFileLockException e) {
            return false;
        }
    }

    /** Writes the pid file: the launcher asks only once the watch is in place (and the gate is warm). */
    private void announce() throws IOException {
        synchronized (announcing) {
            if (closed) {
                return;
            }
            Path pid = Files.writeString(Files.createTempFile(directory, ".pid", ".tmp"), GatePidFile.announcement(ProcessHandle.current().pid()).orElseThrow(
                    () -> new IOException("no start time for this process in /proc/self/stat")), StandardCharsets.UTF_8);
            Files.move(pid, directory.resolve(PID_FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    public Path directory() {
        return directory;
    }

    /** How many questions got a verdict; tests use it to tell an answer from a fallback. */
    public long answered() {
        return answered.get();
    }

    private void watchLoop() {
        while (true) {
            WatchKey key;
            try {
                key = watcher.take();
            } catch (ClosedWatchServiceException | InterruptedException e) {
                return;
            }
            for (WatchEvent<?> event : key.pollEvents()) {
                if (event.kind() == StandardWatchEventKinds.OVERFLOW) {
                    // Events were lost: whatever questions wait now are answered from a listing.
                    sweep();
                } else if (event.context() instanceof Path name && name.toString().startsWith("q.")) {
                    submit(directory.resolve(name));
                }
            }
            if (!key.reset()) {
                log.accept(directory + " is gone; no more gate answers until the service restarts");
                return;
            }
            removeAbandoned();
        }
    }

    /**
     * Removes the questions of launchers that were killed: without this they would
     * stay in /run until the service restarts. Run whenever the spool changes, which
     * costs a listing of a few entries.
     */
    private void removeAbandoned() {
        Instant cutoff = Instant.now().minus(ABANDONED_AFTER);
        try (DirectoryStream<Path> questions = Files.newDirectoryStream(directory, "{q.,.q.}*")) {
            for (Path question : questions) {
                if (Files.getLastModifiedTime(question, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff)) {
                    GateQuestion.delete(question);
                }
            }
        } catch (IOException e) {
            // Gone meanwhile (its launcher removed it), or unreadable: tried again at the next change.
        }
    }

    private void sweep() {
        try (DirectoryStream<Path> questions = Files.newDirectoryStream(directory, "q.*")) {
            for (Path question : questions) {
                submit(question);
            }
        } catch (IOException e) {
            log.accept("cannot list " + directory + ": " + e.getMessage());
        }
    }

    private void submit(Path question) {
        try {
            handlers.execute(() -> answer(question));
        } catch (RejectedExecutionException e) {
            // Too many waiting: this client plans in process rather than queue behind them.
            GateQuestion.reply(question, GateQuestion.PLAN_IN_PROCESS, log);
        }
    }

    private void answer(Path question) {
        try {
            Optional<String> refusal = GateQuestion.check(question, owner);
            if (refusal.isPresent()) {
                turnAway(question, refusal.get());
                return;
            }
            byte[] questionBytes = Files.readAllBytes(question.resolve("question"));
            List<String> lines = GateQuestion.lines(new String(questionBytes, StandardCharsets.UTF_8));
            if (lines.size() != 3 || !lines.get(0).equals(GateQuestion.QUESTION_HEADER)) {
                turnAway(question, "the question is not '" + GateQuestion.QUESTION_HEADER + "', a name and a configuration path");
                return;
            }
            byte[] xml = Files.readAllBytes(question.resolve("domain.xml"));
            Verdict verdict;
            synchronized (judging) {
                verdict = judge.judge(lines.get(1), lines.get(2), xml);
            }
            byte[] findings = verdict.findings().getBytes(StandardCharsets.UTF_8);
            if ((verdict.status() != 0 && verdict.status() != 2) || findings.length > GateQuestion.MAX_ANSWER_BYTES - 256) {
                // Exit 1 (a bad input or configuration) and outsized findings are left to the hook's own JVM to say.
                GateQuestion.reply(question, GateQuestion.PLAN_IN_PROCESS, log);
                return;
            }
            // Counted before the reply goes out, so that whoever got it sees the count; taken back if it did not go.
            answered.incrementAndGet();
            if (!GateQuestion.reply(question, GateQuestion.verdict(questionBytes, xml, verdict), log)) {
                answered.decrementAndGet();
                return;
            }
            try {
                judge.delivered(lines.get(1), lines.get(2), verdict);
            } catch (RuntimeException e) {
                // The verdict is out: a failure to record it must not become a second, in-process reply.
                log.accept("the verdict for " + question + " was given but not recorded: " + e);
            }
        } catch (IOException | RuntimeException e) {
            log.accept("no answer for " + question + ": " + e);
            GateQuestion.reply(question, GateQuestion.PLAN_IN_PROCESS, log);
        }
    }

    private void turnAway(Path question, String why) {
        log.accept("a question in " + question + " was not taken: " + why);
        GateQuestion.reply(question, GateQuestion.PLAN_IN_PROCESS, log);
    }

    /** Stops answering: the pid file goes first, so launchers stop asking before the watch ends. */
    @Override
    public void close() {
        try {
            synchronized (announcing) {
                closed = true;
                if (GatePidFile.liveGate(directory).filter(pid -> pid == ProcessHandle.current().pid()).isPresent()) {
                    Files.deleteIfExists(directory.resolve(PID_FILE));
                }
            }
        } catch (IOException e) {
            // A pid file of a dead process makes launchers skip the gate all the same.
        }
        try {
            watcher.close();
        } catch (IOException e) {
            // Closing only ends the watch loop.
        }
        handlers.shutdownNow();
        try {
            lock.close(); // the spool is free for the next gate
        } catch (IOException e) {
            // The lock goes with the process in any case.
        }
    }
}
