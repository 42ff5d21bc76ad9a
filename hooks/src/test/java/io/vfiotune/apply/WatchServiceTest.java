package io.vfiotune.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.gate.GatePidFile;
import io.vfiotune.gate.GateSpool;
import io.vfiotune.golden.Libvirt;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * {@code vfio-tune watch} as a service against the real libvirtd: a
 * {@code virsh define} is rewritten without any other step, our own
 * redefinition does not loop (libvirt's DEFINED events are counted with
 * {@code virsh event}), unannotated domains are never touched, and the
 * service survives a libvirtd restart.
 */
class WatchServiceTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final List<String> DOMAINS = List.of("vt-watch-annotated", "vt-watch-plain", "vt-watch-after-restart");

    @TempDir
    Path work;
    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stop() {
        processes.forEach(Process::destroyForcibly);
        DOMAINS.forEach(name -> virsh("undefine", name));
    }

    @Test
    void definedDomainsAreRewrittenOnceAndTheServiceSurvivesALibvirtdRestart() throws Exception {
        Libvirt.ensureRunning();
        DOMAINS.forEach(name -> virsh("undefine", name));
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectory(work.resolve("sysfs")));
        Output events = start(List.of("virsh", "-c", Libvirt.URI, "event", "--loop", "--event", "lifecycle"));
        // Its resident gate in a spool of this test's own, never the machine's /run/vfio-tune.
        Path gate = work.resolve("gate");
        Path config = Files.writeString(work.resolve("vfio-tune.properties"), "gate-directory=" + gate + "\n");
        Output watch = start(List.of(ProcessHandle.current().info().command().orElse("java"), "-XX:-UsePerfData", "-cp", System.getProperty("java.class.path"),
                "io.vfiotune.cli.Main", "watch", "--connect", Libvirt.URI, "--sysfs-root", sysfs.toString()), Map.of("VFIO_TUNE_CONFIG", config.toString()));
        await(() -> watch.text().contains("vfio-tune: watching " + Libvirt.URI), 60, "watch never connected:\n" + watch.text());
        assertTrue(watch.text().contains("vfio-tune: answering gate questions in " + gate), watch.text());
        // Announced once its warm-up plan is done: the pid file names the service's pid and start time.
        await(() -> Files.exists(gate.resolve(GateSpool.PID_FILE)), 60, "the watch service never announced its gate:\n" + watch.text());
        assertEquals(GatePidFile.announcement(watch.process.pid()).orElseThrow(), Files.readString(gate.resolve(GateSpool.PID_FILE)),
                "the watch service announced itself as the gate");

        long defined = System.nanoTime();
        define("vt-watch-annotated", true);
        await(() -> inactiveXml("vt-watch-annotated").contains("x-nv-gpudirect-clique"), 20, "never rewritten:\n" + watch.text());
        System.out.printf("watch: define to rewritten definition in %d ms%n", (System.nanoTime() - defined) / 1_000_000);
        define("vt-watch-plain", false);
        await(() -> watch.text().contains("vt-watch-plain: no <vt:tune>, left untouched"), 20, watch.text());
        Thread.sleep(3000); // room for a loop to show, if there were one

        assertEquals(List.of("Defined Added", "Defined Updated"), definedEvents(events, "vt-watch-annotated"),
                "the user's define and our one redefinition, nothing after:\n" + events.text());
        assertEquals(List.of("Defined Added"), definedEvents(events, "vt-watch-plain"), events.text());
        assertEquals(1, count(watch.text(), "vt-watch-annotated: redefined"), watch.text());
        assertTrue(watch.text().contains("vt-watch-annotated: already fits this host"), "our own DEFINED event is seen and found a fixed point:\n" + watch.text());

        restartLibvirtd();
        define("vt-watch-after-restart", true);
        await(() -> inactiveXml("vt-watch-after-restart").contains("x-nv-gpudirect-clique"), 90, "not rewritten after the restart:\n" + watch.text());
        assertTrue(watch.text().contains("[WATCH-DISCONNECTED]") && count(watch.text(), "vfio-tune: watching " + Libvirt.URI) == 2, watch.text());
        assertTrue(watch.process.isAlive(), "the service keeps running");
    }

    private void define(String name, boolean annotated) throws IOException {
        String input = Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/input.xml"))
                .replace("clique-t4-pair-switch", name).replaceAll("  <uuid>.*</uuid>\n", "");
        if (!annotated) {
            input = input.replaceAll("(?s)  <metadata>.*</metadata>\n", "");
        }
        Libvirt.Result result = virsh("define", Files.writeString(work.resolve(name + ".xml"), input).toString());
        assertTrue(result.ok(), result.stderr());
    }

    private static void restartLibvirtd() throws Exception {
        // The host's own daemon, by its pidfile: the second test stack runs libvirtds of its own.
        Path pidFile = Path.of("/run/libvirtd.pid");
        assertTrue(Files.isRegularFile(pidFile), "libvirtd is not running (no " + pidFile + ")");
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        ProcessHandle daemon = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("libvirtd " + pid + " is not running"));
        daemon.destroy();
        await(() -> !daemon.isAlive(), 60, "libvirtd did not stop");
        assertTrue(Libvirt.run(List.of("libvirtd", "-d"), 60).ok());
        await(() -> virsh("version").ok(), 60, "libvirtd did not come back");
    }

    private static List<String> definedEvents(Output events, String name) {
        String prefix = "event 'lifecycle' for domain '" + name + "': ";
        return events.text().lines().filter(line -> line.startsWith(prefix + "Defined")).map(line -> line.substring(prefix.length())).toList();
    }

    private static String inactiveXml(String name) {
        return virsh("dumpxml", "--inactive", name).stdout();
    }

    private static long count(String text, String needle) {
        return text.lines().filter(line -> line.contains(needle)).count();
    }

    private static void await(BooleanSupplier condition, int seconds, String failure) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(failure);
    }

    private Output start(List<String> command) throws IOException {
        return start(command, Map.of());
    }

    private Output start(List<String> command, Map<String, String> environment) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(environment);
        Process process = builder.start();
        processes.add(process);
        return new Output(process);
    }

    private static Libvirt.Result virsh(String... arguments) {
        return Libvirt.run(Stream.concat(Stream.of("virsh", "-c", Libvirt.URI), Arrays.stream(arguments)).toList(), 120);
    }

    /** A process whose combined output is collected as it comes. */
    private static final class Output {
        final Process process;
        private final StringBuffer text = new StringBuffer();

        Output(Process process) {
            this.process = process;
            Thread reader = new Thread(() -> copy(process.getInputStream()));
            reader.setDaemon(true);
            reader.start();
        }

        String text() {
            return text.toString();
        }

        private void copy(InputStream in) {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    text.append(line).append('\n');
                }
            } catch (IOException e) {
                text.append("(output lost: ").append(e.getMessage()).append(")\n");
            }
        }
    }
}
