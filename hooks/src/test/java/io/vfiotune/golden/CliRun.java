package io.vfiotune.golden;

import java.util.List;

/** Runs the CLI in-process with pinned configuration, for tests outside this package. */
public final class CliRun {
    private CliRun() {
    }

    public record Result(int status, String stdout, String stderr) {
    }

    /** As the installed hook runs: configuration from {@code config} only (libvirt clears the environment). */
    public static Result runWithConfig(byte[] stdin, java.nio.file.Path config, String... arguments) {
        GoldenHarness.Run run = GoldenHarness.runCli(List.of(arguments), stdin, config);
        return new Result(run.status(), run.stdout(), run.stderr());
    }

    public static Result run(byte[] stdin, String... arguments) {
        GoldenHarness.Run run = GoldenHarness.runCli(List.of(arguments), stdin);
        return new Result(run.status(), run.stdout(), run.stderr());
    }
}
