package io.vfiotune.hook;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.Libvirt;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.xml.engine.XmlEquivalence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * Killing vfio-tune at any moment leaves either nothing or the whole result:
 * the restore filter's stdout is empty or the complete document, and a
 * domain being applied is either its old definition or the planned one. The
 * process is SIGKILLed after delays spread over its whole run.
 */
class OutputIntegrityTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final String DOMAIN = "vt-kill-test";

    @TempDir
    Path work;

    @AfterEach
    void undefine() {
        Libvirt.run(List.of("virsh", "-c", Libvirt.URI, "undefine", DOMAIN), 60);
    }

    @Test
    void filterOutputIsAllOrNothing() throws Exception {
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(work.resolve("sysfs"));
        Path config = Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\n");
        Path input = ROOT.resolve("src/golden/clique-t4-pair-switch/input.xml");
        String complete = Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/expected.xml"));
        Set<String> seen = new TreeSet<>();
        for (int delay : killDelays(1500, 100)) {
            Run run = runKilledAfter(delay, List.of("sh", "-c", "VFIO_TUNE_CONFIG=\"$0\" exec \"$1\" -cp \"$2\" io.vfiotune.cli.Main hook " + DOMAIN
                    + " restore begin - < \"$3\"", config.toString(), java(), System.getProperty("java.class.path"), input.toString()));
            assertTrue(run.stdout.isEmpty() || run.stdout.equals(complete), "killed after " + delay + " ms, stdout was partial:\n" + run.stdout);
            seen.add(run.stdout.isEmpty() ? "nothing" : "whole");
        }
        assertTrue(seen.contains("whole"), "the longest runs finish: " + seen);
    }

    @Test
    void applyLeavesTheOldOrTheNewDefinition() throws Exception {
        Libvirt.ensureRunning();
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(work.resolve("sysfs"));
        Path original = Files.writeString(work.resolve("domain.xml"), Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/input.xml"))
                .replace("clique-t4-pair-switch", DOMAIN).replace("bd8f9b06-0402-58ad-af82-a216edf34a00", "bd8f9b06-0402-58ad-af82-a216edf34a01"));
        Set<String> seen = new TreeSet<>();
        String planned = null;
        for (int delay : killDelays(2000, 125)) {
            Libvirt.run(List.of("virsh", "-c", Libvirt.URI, "undefine", DOMAIN), 60);
            assertTrue(Libvirt.run(List.of("virsh", "-c", Libvirt.URI, "define", original.toString()), 60).ok());
            String before = dumpxml();
            runKilledAfter(delay, List.of(java(), "-cp", System.getProperty("java.class.path"), "io.vfiotune.cli.Main", "apply",
                    "--connect", Libvirt.URI, "--sysfs-root", sysfs.toString(), DOMAIN));
            String after = dumpxml();
            if (after.equals(before)) {
                seen.add("old");
                continue;
            }
            assertTrue(after.contains("x-nv-gpudirect-clique") && after.contains("<vt:generated>"), "killed after " + delay + " ms, the definition is neither:\n" + after);
            if (planned == null) {
                planned = after;
            }
            assertTrue(XmlEquivalence.equivalent(planned, after), "every completed apply defines the same plan");
            seen.add("new");
        }
        assertTrue(seen.contains("new"), "the longest runs finish: " + seen);
    }

    /**
     * Kill points every {@code step} ms over a typical run, then one run left to finish
     * whatever the machine's load, so a completed run is always among the outcomes checked.
     */
    private static List<Integer> killDelays(int typical, int step) {
        List<Integer> delays = new ArrayList<>();
        for (int delay = 0; delay <= typical; delay += step) {
            delays.add(delay);
        }
        delays.add(120_000);
        return delays;
    }

    private static String dumpxml() {
        return Libvirt.run(List.of("virsh", "-c", Libvirt.URI, "dumpxml", "--inactive", DOMAIN), 60).stdout();
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    private record Run(String stdout) {
    }

    /** Starts the command, SIGKILLs it (and its children) after {@code delay} ms unless it ended, and returns what it wrote. */
    private static Run runKilledAfter(int delay, List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> copy(process.getInputStream(), stdout));
        reader.start();
        if (!process.waitFor(delay, TimeUnit.MILLISECONDS)) {
            List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
            tree.add(process.toHandle());
            tree.forEach(ProcessHandle::destroyForcibly);
            process.waitFor();
        }
        reader.join(10_000);
        return new Run(stdout.toString(StandardCharsets.UTF_8));
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        try (in) {
            in.transferTo(out);
        } catch (IOException e) {
            // the process was killed; what arrived is what is judged
        }
    }

}
