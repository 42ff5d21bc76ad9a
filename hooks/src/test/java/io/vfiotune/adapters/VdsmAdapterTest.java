package io.vfiotune.adapters;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The VDSM adapter as VDSM runs a before_vm_start hook (vdsm/common/hooks.py): the executable
 * from the hook directory, no arguments, the domain XML in a temporary file named by
 * {@code _hook_domxml}, VM custom properties as environment variables ({@code vfio_tune}),
 * the file read back after exit 0. The domain is the T4 golden input without metadata, as
 * VDSM writes one.
 */
class VdsmAdapterTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final String TUNE = "<vt:tune xmlns:vt=\"urn:vfio-tune:1\"><vt:cliques mode=\"auto\"/></vt:tune>";

    @TempDir
    Path work;
    Path config;
    byte[] domain;

    @BeforeEach
    void host() throws IOException {
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectories(work.resolve("sysfs")));
        config = Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\n");
        domain = Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/input.xml")).replaceAll("(?s)  <metadata>.*</metadata>\n", "")
                .getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theCustomPropertyRewritesTheFileInPlace() throws Exception {
        Path file = domainFile();
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        StackProcess.Result result = hook(file, Map.of("vfio_tune", TUNE), config);
        assertEquals(0, result.status(), result.stderr());
        String rewritten = Files.readString(file);
        CliRun.Result plan = CliRun.runWithConfig(rewritten.getBytes(StandardCharsets.UTF_8), config, "plan", "-");
        assertEquals(rewritten, plan.stdout(), "vfio-tune plan of the rewritten file changes nothing");
        String golden = Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/expected.xml"));
        assertEquals(golden.substring(golden.indexOf("<qemu:override")), rewritten.substring(rewritten.indexOf("<qemu:override")),
                "the same clique properties as the golden case with the same annotation");
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), "the file keeps its mode");
        assertEquals(List.of(file.getFileName().toString()), siblings(file), "no temporary file is left");
    }

    @Test
    void nothingToDoLeavesTheFileUntouched() throws Exception {
        Path file = domainFile();
        FileTime before = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(file, before);
        StackProcess.Result result = hook(file, Map.of(), config);
        assertEquals(0, result.status(), result.stderr());
        assertArrayEquals(domain, Files.readAllBytes(file));
        assertEquals(before, Files.getLastModifiedTime(file), "not even rewritten with the same bytes");
    }

    @Test
    void theHostPolicyAnnotatesWithoutTheProperty() throws Exception {
        Path file = domainFile();
        Path policy = Files.writeString(work.resolve("policy.xml"), Files.readString(ROOT.resolve("src/golden/policy-rule-selects-domain/policy.xml"))
                .replace("domain=\"policy-*\"", "domain=\"clique-*\""));
        Path withPolicy = Files.writeString(work.resolve("policy.properties"), Files.readString(config) + "policy-file=" + policy + "\n");
        StackProcess.Result result = hook(file, Map.of(), withPolicy);
        assertEquals(0, result.status(), result.stderr());
        assertTrue(Files.readString(file).contains("policy-rule=\"t4-cliques\""), Files.readString(file));
    }

    @Test
    void aRefusalStopsTheStartAndLeavesTheFile() throws Exception {
        Path file = domainFile();
        StackProcess.Result result = hook(file, Map.of("vfio_tune", TUNE.replace("<vt:cliques mode=\"auto\"/>", "<vt:hostdev host=\"0000:99:00.0\" clique=\"1\"/>")), config);
        assertEquals(2, result.status(), "VDSM's 2: error, stop the other hooks; before_vm_start aborts the start");
        assertTrue(result.stderr().contains("error [ANN-UNKNOWN-HOSTDEV] 0000:99:00.0"), result.stderr());
        assertArrayEquals(domain, Files.readAllBytes(file));
        StackProcess.Result notVdsm = StackProcess.run(List.of(script().toString()), Map.of("VFIO_TUNE", StackProcess.launcher(work).toString(),
                "VFIO_TUNE_CONFIG", config.toString()), work);
        assertEquals(1, notVdsm.status());
        assertTrue(notVdsm.stderr().contains("error [VDSM-NO-DOMAIN] _hook_domxml: not set"), notVdsm.stderr());
    }

    /**
     * Killed at any moment (SIGKILL, nothing runs after it), the hook leaves VDSM's file whole:
     * the old bytes or the new ones. The kills are spread over up to three times what a whole run
     * took, so some land before the rename and some after; the window between the write and the
     * rename itself is held open in {@link #aKillBetweenTheWriteAndTheRenameLeavesTheOldFile}.
     */
    @Test
    void aKillAtAnyMomentLeavesTheOldFileOrTheNewNeverHalf() throws Exception {
        Path reference = domainFile();
        long started = System.nanoTime();
        assertEquals(0, hook(reference, Map.of("vfio_tune", TUNE), config).status());
        long wholeRunMillis = (System.nanoTime() - started) / 1_000_000;
        byte[] rewritten = Files.readAllBytes(reference);
        int old = 0;
        int updated = 0;
        int kills = 16;
        for (int i = 0; i < kills; i++) {
            Path file = Files.write(Files.createDirectories(work.resolve("kill-" + i)).resolve("domxml"), domain);
            Map<String, String> environment = new HashMap<>(Map.of("_hook_domxml", file.toString(), "vfio_tune", TUNE,
                    "VFIO_TUNE", StackProcess.launcher(work).toString(), "VFIO_TUNE_CONFIG", config.toString()));
            Process process = StackProcess.start(List.of(script().toString()), environment, file.getParent());
            // up to three whole runs: the machine's load changes while the kills go on, and the last ones must come too late
            long delay = wholeRunMillis * (i + 1) * 3 / kills;
            boolean ended = process.waitFor(delay, TimeUnit.MILLISECONDS);
            if (!ended) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
            byte[] left = Files.readAllBytes(file);
            if (java.util.Arrays.equals(left, domain)) {
                old++;
            } else {
                assertArrayEquals(rewritten, left, "after a kill at " + delay + " ms the file is the new one if it is not the old one");
                updated++;
            }
        }
        System.out.println("VDSM adapter: " + kills + " runs killed over a " + wholeRunMillis + " ms run: " + old + " left the old file, " + updated + " the new one, none half");
        assertEquals(kills, old + updated);
        assertTrue(old > 0, "some kills landed before the rename");
        assertTrue(updated > 0, "some runs got to the rename");
    }

    /**
     * The one moment that matters, made long: the hook stops after the synced sibling and before
     * the rename. A SIGKILL there leaves the old file (and, since nothing runs after SIGKILL, the
     * sibling, in VDSM's temporary directory); a SIGTERM, VDSM's timeout, leaves the old file and
     * no sibling.
     */
    @Test
    void aKillBetweenTheWriteAndTheRenameLeavesTheOldFile() throws Exception {
        for (String signal : List.of("KILL", "TERM")) {
            Path file = Files.write(Files.createDirectories(work.resolve("pause-" + signal)).resolve("domxml"), domain);
            Map<String, String> environment = new HashMap<>(Map.of("_hook_domxml", file.toString(), "vfio_tune", TUNE,
                    "VFIO_TUNE", StackProcess.launcher(work).toString(), "VFIO_TUNE_CONFIG", config.toString(),
                    "JAVA_TOOL_OPTIONS", "-Dvfio-tune.pause-before-rename-ms=60000"));
            Process process = StackProcess.start(List.of(script().toString()), environment, Files.createDirectories(work.resolve("pause-" + signal + "-out")));
            Path sibling = waitForSibling(file);
            long java = process.descendants().filter(handle -> handle.info().command().orElse("").endsWith("/java")).findFirst()
                    .map(ProcessHandle::pid).orElse(process.pid());
            new ProcessBuilder("kill", "-" + signal, Long.toString(java)).start().waitFor();
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), signal);
            assertArrayEquals(domain, Files.readAllBytes(file), "SIG" + signal + " before the rename: the old file, whole");
            assertEquals(signal.equals("KILL"), Files.exists(sibling), "SIG" + signal + ": the sibling " + (signal.equals("KILL") ? "stays" : "is removed"));
        }
    }

    private static Path waitForSibling(Path file) throws Exception {
        for (int i = 0; i < 600; i++) {
            try (Stream<Path> files = Files.list(file.getParent())) {
                Optional<Path> sibling = files.filter(path -> path.getFileName().toString().startsWith("." + file.getFileName() + ".vfio-tune-")).findFirst();
                if (sibling.isPresent() && Files.size(sibling.get()) > 0) {
                    return sibling.get();
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the hook never wrote its sibling of " + file);
    }

    private Path domainFile() throws IOException {
        // VDSM writes the XML to a temporary file of its own for each hook run
        return Files.write(Files.createTempFile(Files.createDirectories(work.resolve("vdsm")), "vdsm-hook-domxml-", ".xml"), domain);
    }

    private StackProcess.Result hook(Path file, Map<String, String> customProperties, Path configFile) throws Exception {
        Map<String, String> environment = new HashMap<>(customProperties);
        environment.put("_hook_domxml", file.toString());
        environment.put("VFIO_TUNE", StackProcess.launcher(work).toString());
        environment.put("VFIO_TUNE_CONFIG", configFile.toString());
        return StackProcess.run(List.of(script().toString()), environment, work);
    }

    private static Path script() {
        return ROOT.resolve("src/vdsm/50_vfio_tune").toAbsolutePath().normalize();
    }

    private static List<String> siblings(Path file) throws IOException {
        try (Stream<Path> files = Files.list(file.getParent())) {
            return files.map(path -> path.getFileName().toString()).sorted().toList();
        }
    }
}
