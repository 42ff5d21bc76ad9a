package io.vfiotune.hook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.golden.Libvirt;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * 32 hook runs at once, as libvirtd does when many domains start together:
 * the installed launcher (shell, temp file, JVM) for 32 different domains, a
 * third of them fitting, a third not, a third restored through the filter.
 * Each must get its own answer, with nothing of another run in it.
 */
class HookConcurrencyTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final int RUNS = 32;

    @Test
    void thirtyTwoConcurrentRunsEachGetTheirOwnAnswer(@TempDir Path work) throws Exception {
        Path launcher = installedLauncher(work);

        Path golden = ROOT.resolve("src/golden/clique-t4-pair-switch");
        String unapplied = Files.readString(golden.resolve("input.xml"));
        String applied = Files.readString(golden.resolve("expected.xml"));
        // a temporary directory of its own: other processes on the machine (other test runs) buffer hooks in /tmp too
        Path tmp = Files.createDirectory(work.resolve("tmp"));
        ExecutorService pool = Executors.newFixedThreadPool(RUNS);
        try {
            List<Future<Libvirt.Result>> runs = new ArrayList<>();
            for (int i = 0; i < RUNS; i++) {
                String name = "vt-concurrent-" + i;
                String operation = i % 3 == 2 ? "restore" : "prepare";
                String xml = (i % 3 == 0 ? applied : unapplied).replace("clique-t4-pair-switch", name);
                Path input = Files.writeString(work.resolve(name + ".xml"), xml);
                List<String> command = List.of("sh", "-c", "TMPDIR=\"$4\" exec \"$0\" \"$1\" \"$2\" begin - < \"$3\"", launcher.toString(), name, operation, input.toString(),
                        tmp.toString());
                runs.add(pool.submit(() -> Libvirt.run(command, 300)));
            }
            for (int i = 0; i < RUNS; i++) {
                String name = "vt-concurrent-" + i;
                Libvirt.Result result = runs.get(i).get();
                switch (i % 3) {
                    case 0 -> {
                        assertEquals(0, result.status(), name + ": " + result.stderr());
                        assertEquals("", result.stdout() + result.stderr(), name + " fits: the gate says nothing");
                    }
                    case 1 -> {
                        assertEquals(2, result.status(), name + ": " + result.stderr());
                        assertTrue(result.stderr().startsWith("vfio-tune: error [HOOK-MISMATCH] domain " + name + ": "), result.stderr());
                        assertTrue(result.stderr().contains("vfio-tune apply " + name + "'"), result.stderr());
                        assertEquals("", result.stdout());
                    }
                    default -> {
                        assertEquals(0, result.status(), name + ": " + result.stderr());
                        assertEquals(applied.replace("clique-t4-pair-switch", name), result.stdout(), name + ": the filter's output is this domain's plan, whole");
                    }
                }
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(List.of(), hookTempFiles(tmp), "every launcher removed its buffered XML");
    }

    /**
     * Seen in CI: a JVM in another pid namespace (a container sharing /tmp) with the hook JVM's pid holds
     * /tmp/hsperfdata_root/PID locked, and HotSpot warns about it on stderr, which libvirt shows as the
     * hook's error. Here the hook runs in a pid namespace of its own, where pids are small, while a
     * process outside holds the files of pids 1-400 locked; the hook's stderr must be its own answer alone.
     */
    @Test
    void perfDataFilesLockedByAnotherNamespaceLeaveTheHooksStderrAlone(@TempDir Path work) throws Exception {
        Path launcher = installedLauncher(work);
        String name = "vt-perf-data";
        Path input = Files.writeString(work.resolve(name + ".xml"),
                Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/input.xml")).replace("clique-t4-pair-switch", name));
        // the shared directory exists whenever a JVM has run as this user: the test's own JVM made it
        Path shared = Path.of("/tmp/hsperfdata_" + System.getProperty("user.name"));
        assertTrue(Files.isDirectory(shared), shared + " exists once a JVM has run");
        Path perf = Files.createDirectory(work.resolve("hsperfdata"));
        Path held = work.resolve("held");
        // bash for {fd}: each flock locks an open file description the holder keeps; in a mount namespace of
        // its own, the private directory stands for the shared one
        String script = """
                mkfifo "$5" || exit 99
                bash -c 'for pid in $(seq 1 400); do exec {fd}>"$0/$pid" && flock -n "$fd" || { echo not-held > "$1"; exit 1; }; done; echo held > "$1"; exec sleep 300' \
                    "$3" "$5" > /dev/null 2>&1 < /dev/null &
                holder=$!
                read answer < "$5"
                [ "$answer" = held ] || exit 99
                unshare --mount --pid --fork sh -c 'mount --bind "$3" "$4" && exec "$0" "$1" prepare begin - < "$2"' "$0" "$@"
                status=$?
                kill "$holder"
                exit "$status"
                """;
        Libvirt.Result result = Libvirt.run(List.of("sh", "-c", script,
                launcher.toString(), name, input.toString(), perf.toString(), shared.toString(), held.toString()), 300);
        assertEquals(2, result.status(), result.stderr());
        assertEquals(1, result.stderr().lines().count(), "one line, the hook's own: " + result.stderr());
        assertTrue(result.stderr().startsWith("vfio-tune: error [HOOK-MISMATCH] domain " + name + ": "), result.stderr());
    }

    static Path installedLauncher(Path work) throws IOException {
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectory(work.resolve("sysfs")));
        Path config = Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\ncache-directory=" + work.resolve("cache") + "\n");
        Path hooks = Files.createDirectory(work.resolve("qemu.d"));
        CliRun.Result installed = CliRun.run(new byte[0], "install-hook", "--hooks-dir", hooks.toString(), "--config", config.toString());
        assertEquals(0, installed.status(), installed.stderr());
        assertTrue(installed.stdout().contains("; libvirt not signalled: " + hooks + " is not its qemu.d"), "another directory is not libvirt's: " + installed.stdout());
        return hooks.resolve("50-vfio-tune");
    }

    private static List<Path> hookTempFiles(Path tmp) throws IOException {
        try (var files = Files.list(tmp)) {
            return files.filter(path -> path.getFileName().toString().startsWith("vfio-tune-hook.")).sorted().toList();
        }
    }
}
