package io.vfiotune.deb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.Libvirt;
import io.vfiotune.stack.ChrootStack;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The built .deb, as an operator gets it: installed with apt into the Debian 13
 * stack (its own libvirt 11.3 and Java 21), used, run by that stack's libvirtd
 * as its hook, taken through a JVM update, and purged without a trace. The
 * stack runs on a throwaway overlay of the shared root (stack-root debian13
 * serve-overlay), so nothing here reaches that root. Runs after package
 * (failsafe), because it needs the .deb.
 */
class DebianPackageIT {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", "..")).toAbsolutePath().normalize();
    private static final String DOMAIN = "vt-deb-gate";
    private static final String HOOK = "/etc/libvirt/hooks/qemu.d/50-vfio-tune";
    private static final String SHARE = "/mnt/vfio-tune";
    /** Class-load log of one hook run, inside the stack; removed after each count. */
    private static final String CLASS_LOG = "/tmp/vfio-tune-class-load.log";

    /**
     * Left out of the before/after file lists, each for a reason: dpkg's and apt's own
     * records and logs (they must change: they record the install), and libvirt's
     * runtime state and logs, which the refused start writes and which are libvirt's.
     */
    private static final List<String> NOT_THE_PACKAGES = List.of("/var/lib/dpkg", "/var/lib/apt", "/var/cache/apt", "/var/cache/debconf",
            "/var/log", "/var/lib/libvirt", "/var/cache/libvirt", "/tmp", "/var/tmp");

    @Test
    void lintianFindsNoErrors() {
        Path deb = builtPackage();
        Libvirt.Result lintian = Libvirt.run(List.of("lintian", "--info", "--pedantic", "--fail-on", "error", deb.toString()), 600);
        // Everything lintian says is in the test output, for the record; the package has to be free of errors.
        System.out.println("lintian " + deb.getFileName() + ":\n" + lintian.stdout());
        assertEquals(0, lintian.status(), lintian.stdout() + lintian.stderr());
        assertFalse(lintian.stdout().lines().anyMatch(line -> line.startsWith("E: ")), lintian.stdout());
    }

    @Test
    void installUsePurge(@TempDir Path overlay) throws IOException {
        Path deb = builtPackage();
        Files.createDirectories(overlay.resolve("share"));
        Files.copy(deb, overlay.resolve("share").resolve(deb.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        try (ChrootStack.Owned owned = ChrootStack.startOverlay(ROOT.resolve("src/scripts/stack-root"), "debian13", overlay)) {
            ChrootStack stack = owned.stack();
            String before = fileList(stack);

            // A libvirtd stand-in in the stack's mount namespace but outside its root: postinst's
            // install-hook runs inside the root and must signal the stack's own libvirtd only.
            Path standIn = Files.createDirectories(overlay.resolve("beside/sbin")).resolve("libvirtd");
            Files.copy(Path.of("/usr/bin/sleep"), standIn, StandardCopyOption.COPY_ATTRIBUTES);
            // SIGHUP at its default action whatever this run inherited (under nohup it is ignored),
            // so a stray signal would end the stand-in and the check below would see it.
            Libvirt.Result started = stack.runBesideRoot(List.of("sh", "-c", "setsid env --default-signal=HUP \"$0\" 600 </dev/null >/dev/null 2>&1 & echo $!",
                    standIn.toString()), 30);
            long standInPid = Long.parseLong(started.stdout().strip());
            try {
                String libvirtd = ok(stack.run(List.of("cat", "/run/libvirtd.pid"), 30)).stdout().strip();

                Libvirt.Result installed = ok(stack.run(List.of("sh", "-c", "cd " + SHARE + " && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./" + deb.getFileName()), 600));
                assertTrue(installed.stdout().contains("vfio-tune: made class archive /var/cache/vfio-tune/hook-"), installed.stdout());
                assertTrue(installed.stdout().contains("vfio-tune: installed " + HOOK + "; sent SIGHUP to libvirt (pid [" + libvirtd + "])"), installed.stdout());
                assertTrue(ProcessHandle.of(standInPid).map(ProcessHandle::isAlive).orElse(false), "postinst signalled a libvirtd outside the stack's root");

                installedCommandsWork(stack);
                hookRefusesAStartThroughLibvirtd(stack);
                jvmUpdateRebuildsTheArchive(stack);

                List<String> packageFiles = ok(stack.run(List.of("dpkg-query", "-L", "vfio-tune"), 30)).stdout().lines().toList();
                Libvirt.Result purged = ok(stack.run(List.of("sh", "-c", "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q vfio-tune"), 300));
                assertTrue(purged.stdout().contains("vfio-tune: removed " + HOOK + "; sent SIGHUP to libvirt (pid [" + libvirtd + "])"), purged.stdout());
                String after = fileList(stack);
                TreeSet<String> left = new TreeSet<>(after.lines().toList());
                left.removeAll(before.lines().toList());
                TreeSet<String> gone = new TreeSet<>(before.lines().toList());
                gone.removeAll(after.lines().toList());
                assertEquals("", String.join("\n", left) + String.join("\n", gone),
                        "the purge leaves the system as it was; left behind: " + left + "; gone: " + gone);
                for (String file : packageFiles) {
                    if (!stack.run(List.of("dpkg-query", "-S", file), 30).ok()) { // a directory that other packages share stays
                        assertFalse(stack.run(List.of("test", "-e", file), 30).ok(), file + " is left after the purge");
                    }
                }
                System.out.println("purge: " + packageFiles.size() + " paths of the package, file lists before the install and after the purge identical ("
                        + before.lines().count() + " entries)");
            } finally {
                ProcessHandle.of(standInPid).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /** --version, probe on a fixture and plan of the demo domain, all from the installed files. */
    private static void installedCommandsWork(ChrootStack stack) {
        String packageVersion = ok(stack.run(List.of("dpkg-query", "-W", "-f=${Version}", "vfio-tune"), 30)).stdout();
        assertEquals("vfio-tune " + packageVersion + "\n", ok(stack.run(List.of("vfio-tune", "--version"), 60)).stdout());
        Libvirt.Result java = ok(stack.run(List.of("java", "-version"), 60));
        assertTrue(java.stderr().contains("openjdk version \"21."), "the stack's own JRE runs vfio-tune: " + java.stderr());

        ok(stack.run(List.of("vfio-tune", "fixture", "/usr/share/vfio-tune/src/hosts/x86-plx-t4-pair", SHARE + "/sysfs"), 120));
        Libvirt.Result probe = ok(stack.run(List.of("vfio-tune", "probe", "--sysfs-root", SHARE + "/sysfs", "0000:03:00.0"), 120));
        assertTrue(probe.stdout().contains("0000:03:00.0 10de:1eb8"), probe.stdout());

        Libvirt.Result plan = ok(stack.run(List.of("vfio-tune", "plan", "--sysfs-root", SHARE + "/sysfs", "/usr/share/doc/vfio-tune/examples/demo-domain.xml"), 120));
        assertTrue(plan.stdout().contains("x-nv-gpudirect-clique"), plan.stdout());

        assertTrue(stack.run(List.of("test", "-f", "/usr/share/man/man1/vfio-tune-plan.1.gz"), 30).ok(), "a man page per command");
        assertTrue(stack.run(List.of("grep", "-q", "complete -F", "/usr/share/bash-completion/completions/vfio-tune"), 30).ok(), "bash completion installed");
        assertTrue(stack.run(List.of("test", "-f", "/usr/lib/systemd/system/vfio-tune-watch.service"), 30).ok(), "the watch unit is installed");
        // systemd's own reading of the installed unit (Debian 13's systemd, offline): it reports unknown keys,
        // values it cannot parse and a missing ExecStart binary, and ignores them, so the output is the verdict.
        Libvirt.Result unit = stack.run(List.of("systemd-analyze", "verify", "--man=no", "/usr/lib/systemd/system/vfio-tune-watch.service"), 60);
        assertEquals(0, unit.status(), unit.stdout() + unit.stderr());
        assertEquals("", unit.stdout() + unit.stderr(), "systemd takes every line of the unit as written");
        assertFalse(stack.run(List.of("sh", "-c", "ls /etc/systemd/system/*.wants/vfio-tune-watch.service"), 30).ok(), "and not enabled");
    }

    /** The stack's libvirtd runs the packaged hook: an annotated domain that was never applied is refused at start. */
    private static void hookRefusesAStartThroughLibvirtd(ChrootStack stack) throws IOException {
        String hook = ok(stack.run(List.of("cat", HOOK), 30)).stdout();
        // every baked value is one shell word in single quotes
        // The jar directory's wildcard, not the versioned jars: an upgrade renames them at unpack and reinstalls the hook only at configure.
        assertTrue(hook.contains("'-Dvfio-tune.home=/usr/share/vfio-tune' -cp '/usr/share/vfio-tune/lib/*'"), hook);
        assertTrue(hook.contains("'/usr/lib/jvm/java-21-openjdk-amd64/bin/java'"), hook);
        assertTrue(hook.contains("'-XX:SharedArchiveFile=/var/cache/vfio-tune/hook-"), hook);

        // The operator's edit of the conffile: this host's sysfs is the fixture's.
        ok(stack.run(List.of("sh", "-c", "echo sysfs-root=" + SHARE + "/sysfs >> /etc/vfio-tune/vfio-tune.properties"), 30));
        String input = Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/input.xml"))
                .replace("<name>clique-t4-pair-switch</name>", "<name>" + DOMAIN + "</name>").replaceAll("  <uuid>.*</uuid>\n", "");
        Path domain = stack.stage("domain.xml", input.getBytes());
        ok(stack.virsh("define", stack.inside(domain)));
        try {
            Libvirt.Result refused = stack.virsh("start", DOMAIN);
            assertEquals(1, refused.status(), refused.stdout() + refused.stderr());
            assertTrue(refused.stderr().contains("unexpected exit status 2: vfio-tune: error [HOOK-MISMATCH] domain " + DOMAIN
                    + ": the definition does not fit this host; the plan wants 0000:03:00.0 x-nv-gpudirect-clique=0, 0000:04:00.0 x-nv-gpudirect-clique=0. Run 'vfio-tune apply "
                    + DOMAIN + "' to redefine it, then start it again"), refused.stderr());
        } finally {
            ok(stack.virsh("undefine", DOMAIN));
        }
    }

    /**
     * A JVM update replaces the JRE's base class archive, which voids the hook's archive: the
     * hook still works, says so once, and loads its classes from the jars again; the dpkg
     * trigger on /usr/lib/jvm (fired here as a JVM package's files would fire it) rebuilds the
     * archive, and the hook's classes come from it again. What that is worth in time is
     * src/scripts/bench-hook's business (a benchmark, not a timed test): this judges the mechanism.
     */
    private static void jvmUpdateRebuildsTheArchive(ChrootStack stack) throws IOException {
        Path applied = stack.stage("applied.xml", Files.readAllBytes(ROOT.resolve("src/golden/clique-t4-pair-switch/expected.xml")));
        String hookInput = stack.inside(applied);
        long fresh = classesFromHookArchive(stack, hookInput);
        // A whole plan loads about 3,400 classes: the JDK's own from the JRE's base archive, and about 1,900
        // (the XML stack, JAXB, Guice, picocli, vfio-tune, and the JDK classes the base archive lacks) from the hook's.
        assertTrue(fresh > 1000, "after install the hook's classes come from its archive: " + fresh);

        // What a JRE update does to the hook's archive: a base archive of another build (the JVM regenerates its own).
        // With G1, as the JDK's build dumps it: only G1 archives heap objects (the module graph), and on a small
        // machine the JVM would otherwise pick the serial GC and write another base archive than the one it replaces.
        ok(stack.run(List.of("java", "-XX:+UseG1GC", "-Xshare:dump"), 300));
        Libvirt.Result first = stack.run(List.of("sh", "-c", HOOK + " " + DOMAIN + " prepare begin - < " + hookInput), 120);
        assertEquals(0, first.status(), first.stderr());
        assertTrue(first.stderr().contains("vfio-tune: warning [CLASS-ARCHIVE-UNUSED] /var/cache/vfio-tune/hook-"), first.stderr());
        Libvirt.Result second = stack.run(List.of("sh", "-c", HOOK + " " + DOMAIN + " prepare begin - < " + hookInput), 120);
        assertEquals(0, second.status(), second.stderr());
        assertFalse(second.stderr().contains("CLASS-ARCHIVE-UNUSED"), "said once: " + second.stderr());
        long stale = classesFromHookArchive(stack, hookInput);
        assertEquals(0, stale, "the updated JVM drops the voided archive whole");

        long triggerStarted = System.nanoTime();
        Libvirt.Result triggered = ok(stack.run(List.of("sh", "-c", "dpkg-trigger --no-await /usr/lib/jvm && dpkg --triggers-only --pending"), 300));
        double triggerSeconds = (System.nanoTime() - triggerStarted) / 1e9;
        assertTrue(triggered.stdout().contains("vfio-tune: remade class archive (the JVM no longer used the old one) /var/cache/vfio-tune/hook-"),
                triggered.stdout() + triggered.stderr());
        long rebuilt = classesFromHookArchive(stack, hookInput);
        Libvirt.Result quiet = stack.run(List.of("sh", "-c", HOOK + " " + DOMAIN + " prepare begin - < " + hookInput), 120);
        assertEquals(0, quiet.status(), quiet.stderr());
        assertFalse(quiet.stderr().contains("CLASS-ARCHIVE-UNUSED"), quiet.stderr());

        System.out.printf("hook, annotated prepare (4 hostdevs), classes loaded from the hook's archive: %d after install, %d with the voided archive, "
                + "%d after the trigger rebuilt it (trigger took %.1f s)%n", fresh, stale, rebuilt, triggerSeconds);
        // The same training run on the same jars: the rebuilt archive serves the plan as the first did.
        // (Not equal to the class: the JDK spins a few hidden classes, lambda forms, per run.)
        assertTrue(rebuilt >= fresh * 0.98, "the rebuilt archive serves the hook again: " + rebuilt + " classes against " + fresh + " after install");
    }

    /**
     * How many classes one run of the installed hook, as libvirt runs it, takes from its own
     * (dynamic, "top") archive. _JAVA_OPTIONS comes after the launcher's own -Xlog:disable.
     */
    private static long classesFromHookArchive(ChrootStack stack, String input) {
        Libvirt.Result run = ok(stack.run(List.of("sh", "-c", """
                rm -f "$2"
                _JAVA_OPTIONS="-Xlog:class+load=info:file=$2" "$0" vt-classes prepare begin - < "$1" >/dev/null 2>&1 || { echo "hook failed: $?" >&2; exit 1; }
                [ -s "$2" ] || { echo "no class-load log" >&2; exit 1; }
                grep -c 'source: shared objects file (top)' "$2" || true
                rm -f "$2"
                """, HOOK, input, CLASS_LOG), 120));
        return Long.parseLong(run.stdout().strip());
    }

    /** Every path of the stack's root, with its type, outside the directories that are not the package's business. */
    private static String fileList(ChrootStack stack) {
        List<String> command = new ArrayList<>(List.of("find", "/", "-xdev", "("));
        for (String excluded : NOT_THE_PACKAGES) {
            command.addAll(List.of("-path", excluded, "-o"));
        }
        command.remove(command.size() - 1);
        command.addAll(List.of(")", "-prune", "-o", "-printf", "%y %p\\n"));
        Libvirt.Result list = ok(stack.run(command, 300));
        return String.join("\n", new TreeSet<>(list.stdout().lines().toList())) + "\n";
    }

    private static Path builtPackage() {
        Path target = ROOT.resolve("hooks/target");
        try (Stream<Path> files = Files.list(target)) {
            Optional<Path> newest = files.filter(file -> file.getFileName().toString().matches("vfio-tune_.*_all\\.deb"))
                    .max(Comparator.comparing(file -> file.toFile().lastModified()));
            return newest.orElseThrow(() -> new AssertionError("no vfio-tune_*_all.deb in " + target + "; it is built at package, before this test"));
        } catch (IOException e) {
            throw new AssertionError("cannot list " + target, e);
        }
    }

    private static Libvirt.Result ok(Libvirt.Result result) {
        assertTrue(result.ok(), "exit " + result.status() + "\nstdout: " + result.stdout() + "\nstderr: " + result.stderr());
        return result;
    }
}
