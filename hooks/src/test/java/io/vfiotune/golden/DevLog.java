package io.vfiotune.golden;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in for the syslog daemon at /dev/log: a datagram listener that keeps
 * every message it gets, one per line. A daemon's socket already there is moved
 * aside while it listens and put back on close.
 */
public final class DevLog implements AutoCloseable {
    private static final Path DEV_LOG = Path.of("/dev/log");
    private static final Path ASIDE = Path.of("/dev/log.vfio-tune-test");

    private final Process listener;
    private final Path received;
    private final boolean moved;

    private DevLog(Process listener, Path received, boolean moved) {
        this.listener = listener;
        this.received = received;
        this.moved = moved;
    }

    /** Listens at /dev/log until closed; the messages are kept in {@code work}. */
    public static DevLog listen(Path work) throws IOException {
        Path received = work.resolve("syslog-received");
        boolean moved = Files.exists(DEV_LOG, LinkOption.NOFOLLOW_LINKS);
        if (moved) {
            Files.move(DEV_LOG, ASIDE, StandardCopyOption.ATOMIC_MOVE);
        }
        Process listener = new ProcessBuilder("python3", "-c", """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                s.bind('/dev/log')
                print('ready', flush=True)
                with open(sys.argv[1], 'w') as out:
                    while True:
                        out.write(s.recv(65536).decode(errors='replace').replace('\\n', ' ') + '\\n')
                        out.flush()
                """, received.toString()).redirectErrorStream(true).start();
        DevLog log = new DevLog(listener, received, moved);
        String ready = new String(listener.getInputStream().readNBytes(5), StandardCharsets.UTF_8);
        if (!ready.equals("ready")) {
            log.close();
            throw new IOException("the /dev/log stand-in did not start: " + ready);
        }
        return log;
    }

    /** Every message so far, in order of arrival. */
    public List<String> messages() throws IOException {
        return Files.exists(received) ? Files.readAllLines(received, StandardCharsets.UTF_8) : List.of();
    }

    /** Waits up to {@code seconds} for at least {@code count} messages and returns all there are. */
    public List<String> awaitMessages(int count, int seconds) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (messages().size() < count && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return messages();
    }

    @Override
    public void close() throws IOException {
        listener.destroyForcibly();
        try {
            listener.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(DEV_LOG);
        if (moved) {
            Files.move(ASIDE, DEV_LOG, StandardCopyOption.ATOMIC_MOVE);
        }
    }
}
