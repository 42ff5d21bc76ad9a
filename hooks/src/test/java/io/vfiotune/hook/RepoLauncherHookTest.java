package io.vfiotune.hook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The repository's own launcher keeps the hook contract: irrelevant operations and
 * domains without the vfio-tune namespace end in the shell. Proved with a JAVA_HOME
 * whose java cannot run, so any JVM start would fail the call.
 */
class RepoLauncherHookTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final String UNANNOTATED = "<domain type='qemu'><name>x</name></domain>";
    private static final String ANNOTATED = "<domain type='qemu'><name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/></metadata></domain>";

    @TempDir
    Path work;

    @Test
    void irrelevantOperationsAndUnannotatedDomainsStartNoJvm() throws Exception {
        Path noJava = Files.createDirectories(work.resolve("no-jdk/bin"));
        for (String operation : List.of("start begin", "started begin", "stopped end", "release end", "reconnect begin", "attach begin", "prepare end")) {
            String[] words = operation.split(" ");
            assertEquals(0, launch(noJava.getParent(), ANNOTATED, "hook", "x", words[0], words[1], "-"), operation + " must exit 0 in the shell");
        }
        for (String operation : List.of("prepare", "migrate", "restore")) {
            assertEquals(0, launch(noJava.getParent(), UNANNOTATED, "hook", "x", operation, "begin", "-"), "an unannotated " + operation + " must exit 0 in the shell");
        }
        // The control: an annotated prepare does reach the JVM, which cannot start here.
        assertNotEquals(0, launch(noJava.getParent(), ANNOTATED, "hook", "x", "prepare", "begin", "-"));
        try (var left = Files.list(work.resolve("tmp"))) {
            assertTrue(left.findAny().isEmpty(), "the buffered XML is removed");
        }
    }

    /** With a host policy in effect any domain may be annotated by it, so an unannotated prepare must reach the JVM. */
    @Test
    void aHostPolicyMakesUnannotatedDomainsReachTheJvm() throws Exception {
        Path noJava = Files.createDirectories(work.resolve("no-jdk/bin"));
        // java.util.Properties also takes "key value": the shell must read that form too
        Path config = Files.writeString(work.resolve("vfio-tune.properties"), "policy-file " + work.resolve("policy.xml") + "\n");
        assertNotEquals(0, launch(noJava.getParent(), UNANNOTATED, config, "hook", "x", "prepare", "begin", "-"), "a policy-file in the config: the JVM is asked");
        Path without = Files.writeString(work.resolve("plain.properties"), "syslog=no\n");
        assertEquals(0, launch(noJava.getParent(), UNANNOTATED, without, "hook", "x", "prepare", "begin", "-"), "no policy: the shell answers");
        assertEquals(0, launch(noJava.getParent(), UNANNOTATED, config, "hook", "x", "started", "begin", "-"), "irrelevant operations still end in the shell");
    }

    private int launch(Path javaHome, String stdin, String... arguments) throws IOException, InterruptedException {
        return launch(javaHome, stdin, null, arguments);
    }

    private int launch(Path javaHome, String stdin, Path config, String... arguments) throws IOException, InterruptedException {
        Path input = Files.writeString(work.resolve("input.xml"), stdin);
        Files.createDirectories(work.resolve("tmp"));
        ProcessBuilder builder = new ProcessBuilder(concat(ROOT.resolve("vfio-tune").toAbsolutePath().toString(), arguments))
                .redirectInput(input.toFile()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put("JAVA_HOME", javaHome.toString());
        // Only the tools the launcher's shell needs: no mvn either, so an unbuilt tree (the
        // test phase runs before packaging) cannot start a nested build in the control case.
        builder.environment().put("PATH", shellTools().toString());
        builder.environment().put("TMPDIR", work.resolve("tmp").toString());
        if (config != null) {
            builder.environment().put("VFIO_TUNE_CONFIG", config.toString());
        } else {
            builder.environment().remove("VFIO_TUNE_CONFIG");
        }
        Process process = builder.start();
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the launcher ended");
        return process.exitValue();
    }

    private Path shellTools() throws IOException {
        Path tools = work.resolve("tools");
        if (!Files.isDirectory(tools)) {
            Files.createDirectories(tools);
            // No mktemp, cat or rm: the launcher keeps the domain in the shell and makes no file.
            for (String tool : List.of("sh", "tr", "grep", "dirname", "readlink")) {
                Path real = java.util.stream.Stream.of("/usr/bin", "/bin").map(directory -> Path.of(directory, tool)).filter(Files::isExecutable).findFirst()
                        .orElseThrow(() -> new AssertionError("no " + tool + " in /usr/bin or /bin"));
                Files.createSymbolicLink(tools.resolve(tool), real);
            }
        }
        return tools;
    }

    private static List<String> concat(String first, String... rest) {
        return java.util.stream.Stream.concat(java.util.stream.Stream.of(first), java.util.Arrays.stream(rest)).toList();
    }
}
