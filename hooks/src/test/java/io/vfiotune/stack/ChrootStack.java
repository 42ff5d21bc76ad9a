package io.vfiotune.stack;

import io.vfiotune.golden.Libvirt;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A stack in a root of its own that {@code src/scripts/stack-root NAME} builds: Debian 13's
 * libvirt and QEMU ({@code debian13}), or those of trixie-backports ({@code debian13-backports}).
 * {@code stack-root NAME serve} runs a libvirtd of this test run's own in a private
 * mount namespace; commands enter that namespace and the root. The server stops
 * when this JVM exits, because its stdin (our pipe) closes, even on a kill.
 * <p>
 * {@link #startOverlay} serves a copy-on-write view of the root instead
 * ({@code stack-root NAME serve-overlay DIR}), for tests that change the system
 * itself (install a package): the view exists only in the server's namespace,
 * so files are exchanged through {@code DIR/share}, which the stack sees as
 * {@value #SHARE_INSIDE}.
 */
public final class ChrootStack extends Stack {
    static final String SHARE_INSIDE = "/mnt/vfio-tune";

    private final String name;
    private final Process server;
    private final long namespacePid;
    private final Path root;
    /** The host directory the stack sees, and where it sees it. */
    private final Path hostShare;
    private final String shareInside;
    private final Path staging;

    private ChrootStack(String name, Process server, long namespacePid, Path root, Path hostShare, String shareInside) {
        this.name = name;
        this.server = server;
        this.namespacePid = namespacePid;
        this.root = root;
        this.hostShare = hostShare;
        this.shareInside = shareInside;
        this.staging = hostShare.resolve(shareInside.equals("/") ? "var/tmp/vfio-tune-tests/" + ProcessHandle.current().pid() : "staging");
    }

    static ChrootStack start(Path script, String name) {
        return start(script, name, List.of("serve"), null);
    }

    /** A stack a test owns and stops: closing it stops the server (the shared stacks are no such thing, see {@link Stack}). */
    public record Owned(ChrootStack stack) implements AutoCloseable {
        @Override
        public void close() {
            stack.stop();
        }
    }

    /** The stack {@code name} on a throwaway overlay in {@code directory}, stopped when the returned handle is closed. */
    public static Owned startOverlay(Path script, String name, Path directory) {
        return new Owned(start(script, name, List.of("serve-overlay", directory.toString()), directory.resolve("share")));
    }

    private static ChrootStack start(Path script, String name, List<String> arguments, Path share) {
        try {
            List<String> command = new java.util.ArrayList<>(List.of(script.toString(), name));
            command.addAll(arguments);
            Process server = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            BufferedReader output = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            String line = output.readLine();
            if (line == null || !line.startsWith("ready ")) {
                server.destroy();
                throw new AssertionError("the " + name + " stack did not start (" + script + " " + name + " serve said: " + line
                        + "). Build it with '" + script + " " + name + " ensure', as the README's test command does.");
            }
            String[] words = line.split(" ");
            Path root = Path.of(words[2]);
            ChrootStack stack = share == null ? new ChrootStack(name, server, Long.parseLong(words[1]), root, root, "/")
                    : new ChrootStack(name, server, Long.parseLong(words[1]), root, share.toAbsolutePath().normalize(), SHARE_INSIDE);
            Runtime.getRuntime().addShutdownHook(new Thread(stack::stop, name + "-stack-stop"));
            return stack;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private synchronized void stop() {
        if (!server.isAlive()) {
            return;
        }
        try {
            server.getOutputStream().close();
            if (!server.waitFor(60, TimeUnit.SECONDS)) {
                server.destroy();
            }
            Libvirt.run(List.of("rm", "-rf", staging.toString()), 30);
        } catch (IOException e) {
            server.destroy();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String distribution() {
        return name.equals("debian13-backports") ? "Debian 13 + backports" : "Debian 13";
    }

    @Override
    public Libvirt.Result run(List<String> command, int timeoutSeconds) {
        return Libvirt.run(concat(List.of("nsenter", "--target", Long.toString(namespacePid), "--mount", "--", "chroot", root.toString()), command), timeoutSeconds);
    }

    /** Runs a command in the stack's mount namespace but outside its root (with the host's binaries). */
    public Libvirt.Result runBesideRoot(List<String> command, int timeoutSeconds) {
        return Libvirt.run(concat(List.of("nsenter", "--target", Long.toString(namespacePid), "--mount", "--"), command), timeoutSeconds);
    }

    /** The process that holds the stack's mount namespace. */
    public long namespacePid() {
        return namespacePid;
    }

    @Override
    protected Path stagingDirectory() {
        return staging;
    }

    @Override
    public String inside(Path hostPath) {
        Path absolute = hostPath.toAbsolutePath().normalize();
        if (!absolute.startsWith(hostShare)) {
            throw new IllegalArgumentException(hostPath + " is not where the stack sees it (" + hostShare + ")");
        }
        String relative = hostShare.relativize(absolute).toString();
        return shareInside.equals("/") ? "/" + relative : relative.isEmpty() ? shareInside : shareInside + "/" + relative;
    }

    @Override
    public Path outside(String stackPath) {
        if (shareInside.equals("/")) {
            return root.resolve(stackPath.replaceFirst("^/+", ""));
        }
        if (!stackPath.equals(shareInside) && !stackPath.startsWith(shareInside + "/")) {
            throw new IllegalArgumentException(stackPath + " is in the stack's overlay, which only its namespace sees; use " + shareInside);
        }
        return hostShare.resolve(stackPath.substring(shareInside.length()).replaceFirst("^/+", ""));
    }
}
