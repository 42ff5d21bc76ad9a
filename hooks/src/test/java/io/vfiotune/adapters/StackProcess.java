package io.vfiotune.adapters;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a shipped adapter script as its stack runs it: a new process with the stack's argument
 * vector and environment. The script's {@code VFIO_TUNE} names a launcher that starts this
 * build's classes (the test phase comes before the package exists).
 */
final class StackProcess {
    record Result(int status, String stdout, String stderr) {
    }

    private StackProcess() {
    }

    /** A launcher like the installed one, for this JVM's class path. */
    static Path launcher(Path directory) throws IOException {
        Path launcher = directory.resolve("vfio-tune");
        if (!Files.exists(launcher)) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Files.writeString(launcher, "#!/bin/sh\nexec '" + java + "' -XX:-UsePerfData -cp '" + System.getProperty("java.class.path") + "' io.vfiotune.cli.Main \"$@\"\n");
            Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return launcher;
    }

    static Process start(List<String> command, Map<String, String> environment, Path work) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(work.resolve("stdout").toFile()).redirectError(work.resolve("stderr").toFile());
        // a stack passes its own environment, not the test's
        builder.environment().clear();
        builder.environment().put("PATH", "/usr/bin:/bin");
        builder.environment().putAll(environment);
        return builder.start();
    }

    static Result run(List<String> command, Map<String, String> environment, Path work) throws IOException, InterruptedException {
        Process process = start(command, environment, work);
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(command.get(0) + " did not end in 120 s");
        }
        return new Result(process.exitValue(), Files.readString(work.resolve("stdout"), StandardCharsets.UTF_8), Files.readString(work.resolve("stderr"), StandardCharsets.UTF_8));
    }
}
