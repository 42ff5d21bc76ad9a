package io.vfiotune.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The repository's launcher builds the application the first time (`./vfio-tune demo` on a
 * fresh clone) and shows Maven's output as plain text. Maven 3.8.7 (Debian 12) writes two
 * colour resets, ESC[0m ESC[0m, even with -B and -q (measured: `mvn -q -B package 2>&1 | od -c`
 * starts with them); the stand-in mvn here writes those bytes and whatever a build prints, in
 * a copy of the launcher whose hooks/target is empty. Its java is a stand-in too, so the test
 * sees that a good build goes on to start the application with the same arguments.
 */
class FirstUseBuildTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final String RESETS = "\033[0m\033[0m";

    @TempDir
    Path work;

    @Test
    void aGoodBuildPrintsPlainTextAndStartsTheApplication() throws Exception {
        Run run = firstUse(0, RESETS + "[WARNING] a plugin said something\n");
        assertEquals(0, run.status(), run.stderr());
        assertEquals("java ran: io.vfiotune.cli.Main demo\n", run.stdout());
        assertTrue(run.stderr().contains("vfio-tune: info [BUILD] "), run.stderr());
        assertTrue(run.stderr().contains("[WARNING] a plugin said something\n"), run.stderr());
        assertFalse(run.stderr().contains("\033"), "no escape codes: " + run.stderr().replace("\033", "ESC"));
    }

    @Test
    void aFailedBuildIsReportedInPlainTextAndStartsNothing() throws Exception {
        Run run = firstUse(1, RESETS + "[ERROR] Failed to execute goal: compilation failure\n");
        assertEquals(1, run.status(), run.stderr());
        assertEquals("", run.stdout(), "nothing started");
        assertTrue(run.stderr().contains("[ERROR] Failed to execute goal: compilation failure\n"), run.stderr());
        assertTrue(run.stderr().strip().endsWith("the build failed; see the Maven output above"), run.stderr());
        assertFalse(run.stderr().contains("\033"), "no escape codes: " + run.stderr().replace("\033", "ESC"));
    }

    private record Run(int status, String stdout, String stderr) {
    }

    /** Runs `vfio-tune demo` in a copy whose Maven exits with {@code status} after printing {@code output}. */
    private Run firstUse(int status, String output) throws IOException, InterruptedException {
        Path home = Files.createDirectories(work.resolve("checkout"));
        Files.copy(ROOT.resolve("vfio-tune"), home.resolve("vfio-tune"), StandardCopyOption.COPY_ATTRIBUTES);
        Path bin = Files.createDirectories(work.resolve("bin"));
        // A good build leaves the jar and its lib directory where the launcher looks.
        script(bin.resolve("mvn"), "printf '%s' '" + output.replace("'", "'\\''") + "'\n"
                + (status == 0 ? "mkdir -p hooks/target/lib && : > hooks/target/vfio-tune.jar\n" : "")
                + "exit " + status + "\n");
        Path jdk = Files.createDirectories(work.resolve("jdk/bin"));
        script(jdk.resolve("java"), "for a in \"$@\"; do case $a in io.vfiotune.*) shift; echo \"java ran: $a $*\"; exit 0;; esac; shift; done\nexit 3\n");
        // dash, as /bin/sh is on Debian and as libvirt runs the installed launcher: its set -e reaches into a pipeline.
        ProcessBuilder builder = new ProcessBuilder("dash", home.resolve("vfio-tune").toString(), "demo")
                .redirectOutput(work.resolve("stdout").toFile()).redirectError(work.resolve("stderr").toFile());
        Map<String, String> environment = builder.environment();
        environment.put("PATH", bin + ":/usr/bin:/bin");
        environment.put("JAVA_HOME", jdk.getParent().toString());
        Process process = builder.start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the launcher did not finish");
        return new Run(process.exitValue(), Files.readString(work.resolve("stdout"), StandardCharsets.UTF_8),
                Files.readString(work.resolve("stderr"), StandardCharsets.UTF_8));
    }

    private static void script(Path path, String body) throws IOException {
        Files.writeString(path, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
