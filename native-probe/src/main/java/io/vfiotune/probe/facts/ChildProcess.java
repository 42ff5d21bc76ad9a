package io.vfiotune.probe.facts;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A child process the hook waits for, with a time limit that holds whatever the child does.
 * libvirt waits for its hooks without one, so a child that never ends would hold every VM start.
 * The output is drained on a thread of its own while the limit runs: reading it first and
 * waiting afterwards (as {@code QemuVersionProbe} once did) lets a child that keeps its output
 * open outlive any limit. At the limit the child and everything it started are killed.
 */
public final class ChildProcess {
    /** What the child printed (stdout and stderr together, at most the bytes asked for) and its exit status. */
    public record Result(int status, byte[] output) {
    }

    /** The child did not finish in time; it and its descendants were killed. */
    public static final class TimedOut extends Exception {
        private static final long serialVersionUID = 1L;

        TimedOut(String message) {
            super(message);
        }
    }

    /** Time for the reader to take what a child wrote just before it exited. */
    private static final long DRAIN_MILLIS = 200;
    private static final int KILL_ROUNDS = 5;

    private ChildProcess() {
    }

    /**
     * Runs {@code command} with no input and returns its status and up to {@code maxBytes} of
     * its output; anything more is read and dropped, so the child never blocks on a full pipe.
     */
    public static Result run(List<String> command, Duration limit, int maxBytes) throws IOException, TimedOut, InterruptedException {
        return run(command, Optional.empty(), limit, maxBytes);
    }

    /** As {@link #run(List, Duration, int)}, with exactly {@code environment} when it is given, and nothing of this process's. */
    public static Result run(List<String> command, Optional<Map<String, String>> environment, Duration limit, int maxBytes)
            throws IOException, TimedOut, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        environment.ifPresent(variables -> {
            builder.environment().clear();
            builder.environment().putAll(variables);
        });
        Process process = builder.start();
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> drain(process.getInputStream(), output, maxBytes), "vfio-tune-child-output");
        reader.setDaemon(true);
        reader.start();
        long deadline = System.nanoTime() + limit.toNanos();
        try {
            if (!process.waitFor(limit.toNanos(), TimeUnit.NANOSECONDS)) {
                killTree(process.toHandle());
                throw new TimedOut(String.join(" ", command) + " did not finish in " + limit.toMillis() + " ms; it was killed");
            }
            // The child is done; a descendant it left behind may still hold the output open: what came
            // within the limit (and a moment to drain what the child wrote last) is the answer, and the
            // reader (a daemon) is left to it.
            long left = Math.max(0, deadline - System.nanoTime());
            reader.join(Math.max(DRAIN_MILLIS, TimeUnit.NANOSECONDS.toMillis(left)));
        } catch (InterruptedException e) {
            killTree(process.toHandle());
            throw e;
        }
        synchronized (output) {
            return new Result(process.exitValue(), output.toByteArray());
        }
    }

    /**
     * Descendants first, so none is reparented to init and lives on; again until none is left,
     * since the child may fork while it is being killed.
     */
    private static void killTree(ProcessHandle process) {
        for (int round = 0; round < KILL_ROUNDS; round++) {
            List<ProcessHandle> descendants = process.descendants().toList();
            if (descendants.isEmpty()) {
                break;
            }
            descendants.forEach(ProcessHandle::destroyForcibly);
        }
        process.destroyForcibly();
    }

    private static void drain(InputStream in, ByteArrayOutputStream output, int maxBytes) {
        byte[] buffer = new byte[8192];
        try (in) {
            int read;
            while ((read = in.read(buffer)) >= 0) {
                synchronized (output) {
                    output.write(buffer, 0, Math.max(0, Math.min(read, maxBytes - output.size())));
                }
            }
        } catch (IOException e) {
            // The pipe closed under a killed child: what was read is what there is.
        }
    }
}
