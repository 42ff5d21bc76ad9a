package io.vfiotune.gate;

import io.vfiotune.cli.InstallHookCommand;
import io.vfiotune.golden.CliRun;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The launcher install-hook writes, cut just before it starts the full JVM:
 * what runs is the real installed shell text, and an exit of {@link #FELL_THROUGH}
 * means the resident gate gave no verdict and the hook would plan in process.
 */
final class GateLauncher {
    static final int FELL_THROUGH = 100;
    private static final Pattern CODE = Pattern.compile("^vfio-tune: (?:error|warning|info) \\[([A-Z0-9-]+)\\]");

    private final String script;

    private GateLauncher(String script) {
        this.script = script;
    }

    /** Installs the hook into {@code hooksDirectory} with {@code config} as install-hook's environment (so its gate-directory is baked in). */
    static GateLauncher install(Path hooksDirectory, Path config) throws IOException {
        CliRun.Result installed = CliRun.runWithConfig(new byte[0], config, "install-hook", "--no-class-archive", "--hooks-dir", hooksDirectory.toString());
        if (installed.status() != 0) {
            throw new IllegalStateException("install-hook failed: " + installed.stderr());
        }
        String text = Files.readString(hooksDirectory.resolve(InstallHookCommand.HOOK_NAME), StandardCharsets.UTF_8);
        // The full JVM's command follows the last "fi" (the end of the gate's lines) before the Main class.
        int main = text.indexOf("io.vfiotune.cli.Main hook");
        int java = text.lastIndexOf("\nfi\n", main) + "\nfi\n".length();
        if (main < 0 || java < "\nfi\n".length() || !text.substring(0, java).contains(GateQuestion.QUESTION_HEADER)) {
            throw new IllegalStateException("the installed launcher has changed shape:\n" + text);
        }
        return new GateLauncher(text.substring(0, java) + "exit " + FELL_THROUGH + "\n");
    }

    /** The same launcher with the in-process plan standing in as a wait of {@code planSeconds}, the time a real JVM would take. */
    GateLauncher withPlanTaking(int planSeconds) {
        return new GateLauncher(script.replace("exit " + FELL_THROUGH + "\n", "sleep " + planSeconds + "\nexit " + FELL_THROUGH + "\n"));
    }

    String script() {
        return script;
    }

    record Result(int status, String stderr, long millis) {
        /** The finding codes, in order: with the exit status, the gate's verdict. */
        List<String> codes() {
            return GateLauncher.codes(stderr);
        }
    }

    static List<String> codes(String stderr) {
        List<String> codes = new ArrayList<>();
        for (String line : stderr.split("\n")) {
            Matcher matcher = CODE.matcher(line);
            if (matcher.find()) {
                codes.add(matcher.group(1));
            }
        }
        return codes;
    }

    /** Runs the hook's {@code prepare begin} for {@code name} as libvirt would, with only VFIO_TUNE_CONFIG set; {@code prefix} runs it as another user. */
    Result prepare(String name, Path config, byte[] xml, List<String> prefix) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(prefix);
        command.addAll(List.of("/bin/sh", "-c", script, "50-vfio-tune", name, "prepare", "begin", "-"));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().clear();
        builder.environment().putAll(Map.of("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", "VFIO_TUNE_CONFIG", config.toString()));
        Path input = Files.createTempFile("vfio-tune-gate-input", ".xml");
        try {
            Files.write(input, xml);
            builder.redirectInput(input.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            long started = System.nanoTime();
            Process process = builder.start();
            byte[] stderr = process.getErrorStream().readAllBytes();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("the launcher hung");
            }
            return new Result(process.exitValue(), new String(stderr, StandardCharsets.UTF_8), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        } finally {
            Files.deleteIfExists(input);
        }
    }

    Result prepare(String name, Path config, byte[] xml) throws IOException, InterruptedException {
        return prepare(name, config, xml, List.of());
    }
}
