package io.vfiotune.hook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;

/**
 * install-hook reloads libvirt with SIGHUP, and only the libvirt that reads the
 * qemu.d it wrote. A process named libvirtd (sleep(1) under that name, whose
 * default SIGHUP action ends it) stands in for a daemon that must not be
 * signalled: a hook put into another directory with --hooks-dir concerns no
 * running libvirt (issue 16, item 4). The control case shows the stand-in is
 * one install-hook would signal when the hook goes into libvirt's own qemu.d.
 */
class InstallHookSignalTest {
    private static final Path LIBVIRT_HOOK = Path.of("/etc/libvirt/hooks/qemu.d/50-vfio-tune");

    @Test
    void hooksDirElsewhereSignalsNoDaemon(@TempDir Path work) throws Exception {
        Process daemon = standIn(work);
        try {
            Path hooks = work.resolve("qemu.d");
            CliRun.Result installed = CliRun.run(new byte[0], "install-hook", "--no-class-archive", "--hooks-dir", hooks.toString());
            assertEquals(0, installed.status(), installed.stderr());
            assertEquals("vfio-tune: installed " + hooks.resolve("50-vfio-tune") + "; libvirt not signalled: " + hooks + " is not its qemu.d\n", installed.stdout());
            CliRun.Result removed = CliRun.run(new byte[0], "install-hook", "--uninstall", "--hooks-dir", hooks.toString());
            assertEquals("vfio-tune: removed " + hooks.resolve("50-vfio-tune") + "; libvirt not signalled: " + hooks + " is not its qemu.d\n", removed.stdout());
            assertFalse(daemon.waitFor(1, TimeUnit.SECONDS), "the stand-in libvirtd got a signal from an install into " + hooks);
        } finally {
            daemon.destroyForcibly().waitFor();
        }
    }

    @Test
    void libvirtsOwnQemuDirSignalsTheDaemonsOfThisRoot(@TempDir Path work) throws Exception {
        Process daemon = standIn(work);
        try {
            CliRun.Result installed = CliRun.run(new byte[0], "install-hook", "--no-class-archive");
            assertEquals(0, installed.status(), installed.stderr());
            assertTrue(installed.stdout().matches("vfio-tune: installed " + LIBVIRT_HOOK + "; sent SIGHUP to libvirt \\(pid \\[.*\\b" + daemon.pid() + "\\b.*\\]\\)\n"), installed.stdout());
            assertTrue(daemon.waitFor(10, TimeUnit.SECONDS), "the stand-in libvirtd was not signalled");
            assertEquals(128 + 1, daemon.exitValue(), "ended by SIGHUP");
        } finally {
            daemon.destroyForcibly().waitFor();
            CliRun.Result removed = CliRun.run(new byte[0], "install-hook", "--uninstall");
            assertEquals(0, removed.status(), removed.stderr());
            assertTrue(Files.notExists(LIBVIRT_HOOK));
        }
    }

    /** sleep(1) copied under the name libvirtd, which is all install-hook looks for, with SIGHUP at its default action. */
    private static Process standIn(Path work) throws IOException {
        Path binary = Files.createDirectories(work.resolve("sbin")).resolve("libvirtd");
        Files.copy(Path.of("/usr/bin/sleep"), binary, StandardCopyOption.COPY_ATTRIBUTES);
        // env resets SIGHUP to its default action before it execs the stand-in: a run started with
        // SIGHUP ignored (nohup, some CI runners) would otherwise hand that on, and the stand-in
        // would survive the signal this test must see.
        Process daemon = new ProcessBuilder("env", "--default-signal=HUP", binary.toString(), "600").start();
        // Until exec has happened, /proc/PID/exe is still the JVM's forked child.
        for (int i = 0; i < 100 && !daemon.info().command().map(command -> command.endsWith("/libvirtd")).orElse(false); i++) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        assertTrue(daemon.isAlive() && daemon.info().command().orElse("").endsWith("/libvirtd"), "the stand-in did not start");
        return daemon;
    }
}
