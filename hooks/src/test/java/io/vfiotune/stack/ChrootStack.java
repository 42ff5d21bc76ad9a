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
 * Debian 13's libvirt and QEMU in the root {@code src/scripts/second-stack} builds.
 * {@code second-stack serve} runs a libvirtd of this test run's own in a private
 * mount namespace; commands enter that namespace and the root. The server stops
 * when this JVM exits, because its stdin (our pipe) closes, even on a kill.
 */
final class ChrootStack extends Stack {
    private final Process server;
    private final long namespacePid;
    private final Path root;
    private final Path staging;

    private ChrootStack(Process server, long namespacePid, Path root) {
        this.server = server;
        this.namespacePid = namespacePid;
        this.root = root;
        this.staging = root.resolve("var/tmp/vfio-tune-tests/" + ProcessHandle.current().pid());
    }

    static ChrootStack start(Path script) {
        try {
            Process server = new ProcessBuilder(script.toString(), "serve").redirectError(ProcessBuilder.Redirect.INHERIT).start();
            BufferedReader output = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            String line = output.readLine();
            if (line == null || !line.startsWith("ready ")) {
                server.destroy();
                throw new AssertionError("the Debian 13 stack did not start (" + script + " serve said: " + line
                        + "). Build it with '" + script + " ensure', as the README's test command does.");
            }
            String[] words = line.split(" ");
            ChrootStack stack = new ChrootStack(server, Long.parseLong(words[1]), Path.of(words[2]));
            Runtime.getRuntime().addShutdownHook(new Thread(stack::stop, "second-stack-stop"));
            return stack;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void stop() {
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
    public String distribution() {
        return "Debian 13";
    }

    @Override
    public Libvirt.Result run(List<String> command, int timeoutSeconds) {
        return Libvirt.run(concat(List.of("nsenter", "--target", Long.toString(namespacePid), "--mount", "--", "chroot", root.toString()), command), timeoutSeconds);
    }

    @Override
    protected Path stagingDirectory() {
        return staging;
    }

    @Override
    public String inside(Path hostPath) {
        Path absolute = hostPath.toAbsolutePath().normalize();
        if (!absolute.startsWith(root)) {
            throw new IllegalArgumentException(hostPath + " is not inside the stack's root " + root);
        }
        return "/" + root.relativize(absolute);
    }

    @Override
    public Path outside(String stackPath) {
        return root.resolve(stackPath.replaceFirst("^/+", ""));
    }
}
