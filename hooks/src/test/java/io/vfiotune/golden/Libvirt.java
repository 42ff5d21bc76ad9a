package io.vfiotune.golden;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The machine's own libvirtd for tests: starts virtlogd and libvirtd when none
 * answers, runs commands, normalises argv. The oracles themselves (virt-xml-validate,
 * domxml-to-native) are {@link io.vfiotune.stack.Stack}'s, for either stack.
 */
public final class Libvirt {
    public static final String URI = "qemu:///system";
    private static boolean running;

    private Libvirt() {
    }

    public record Result(int status, String stdout, String stderr) {
        public boolean ok() {
            return status == 0;
        }
    }

    public static synchronized void ensureRunning() {
        if (running) {
            return;
        }
        if (run(List.of("virsh", "-c", URI, "version"), 30).ok()) {
            running = true;
            return;
        }
        run(List.of("virtlogd", "-d"), 30);
        run(List.of("libvirtd", "-d"), 30);
        for (int attempt = 0; attempt < 60; attempt++) {
            if (run(List.of("virsh", "-c", URI, "version"), 30).ok()) {
                running = true;
                return;
            }
            sleep(1000);
        }
        throw new AssertionError("libvirtd is not answering on " + URI + "; install libvirt-daemon-system and run the README's test command");
    }

    /**
     * One argument per line, environment assignments dropped: libvirt prefixes
     * the caller's PATH, which differs between machines.
     */
    public static String normalizeArgv(String argv) {
        String[] tokens = argv.strip().split(" (?=-[a-zA-Z])");
        List<String> lines = new ArrayList<>();
        String first = tokens[0];
        String[] words = first.split(" ");
        int emulator = 0;
        while (emulator < words.length && words[emulator].matches("[A-Z_]+=.*")) {
            emulator++;
        }
        lines.add(String.join(" ", java.util.Arrays.copyOfRange(words, emulator, words.length)));
        for (int i = 1; i < tokens.length; i++) {
            lines.add(tokens[i]);
        }
        return String.join("\n", lines) + "\n";
    }

    public static Result run(List<String> command, int timeoutSeconds) {
        try {
            Process process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            byte[][] output = new byte[2][];
            Thread err = new Thread(() -> {
                try {
                    output[1] = process.getErrorStream().readAllBytes();
                } catch (IOException e) {
                    output[1] = new byte[0];
                }
            });
            err.start();
            output[0] = process.getInputStream().readAllBytes();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return new Result(-1, "", String.join(" ", command) + " timed out");
            }
            err.join();
            return new Result(process.exitValue(), new String(output[0], StandardCharsets.UTF_8), new String(output[1], StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(-1, "", "cannot run " + command.get(0) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "", "interrupted");
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
