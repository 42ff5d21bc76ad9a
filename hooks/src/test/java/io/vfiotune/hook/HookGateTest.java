package io.vfiotune.hook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.golden.Libvirt;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

/**
 * The hook as the real libvirtd runs it: installed into qemu.d, an annotated
 * domain that was never applied is refused at start with the fix, and after
 * {@code vfio-tune apply} the gate passes, so the start fails only at
 * libvirt's own VFIO check (this machine has no IOMMU).
 */
class HookGateTest {
    private static final String DOMAIN = "vt-hook-gate-test";
    private static final String RESTORED = "vt-hook-restore-test";
    /** Not NAME.save: that is libvirt's managed-save path, and an image there blocks undefine. */
    private static final Path SAVE_FILE = Path.of("/var/lib/libvirt/qemu/save/" + RESTORED + ".img");
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));

    @TempDir
    static Path work;
    static Path sysfs;

    @BeforeAll
    static void installHook() throws IOException {
        Libvirt.ensureRunning();
        sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectory(work.resolve("sysfs")));
        Path config = Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\n"
                + "transform-modules=" + RngPeriodSiteModule.class.getName() + "\n");
        CliRun.Result installed = CliRun.run(new byte[0], "install-hook", "--config", config.toString());
        assertEquals(0, installed.status(), installed.stderr());
        CliRun.Result again = CliRun.run(new byte[0], "install-hook", "--config", config.toString());
        assertTrue(again.stdout().lines().anyMatch(line -> line.startsWith("vfio-tune: already installed: /etc/libvirt/hooks/qemu.d/50-vfio-tune")), again.stdout());
        // Only this machine's own daemon is signalled, never the second test stack's libvirtd in its root.
        String hostDaemon = Files.readString(Path.of("/run/libvirtd.pid")).strip();
        assertTrue(again.stdout().contains("; sent SIGHUP to libvirt (pid [" + hostDaemon + "])"), again.stdout());
        // Under surefire the class path holds class directories, which CDS cannot archive; the bench script covers the archive.
        assertTrue(installed.stdout().startsWith("vfio-tune: no class archive (") || installed.stdout().startsWith("vfio-tune: made class archive "), installed.stdout());
        for (String domain : new String[] {DOMAIN, RESTORED}) {
            virsh("destroy", domain);
            virsh("undefine", domain);
        }
    }

    @AfterAll
    static void uninstallHook() throws IOException {
        virsh("undefine", DOMAIN);
        virsh("destroy", RESTORED);
        virsh("undefine", RESTORED);
        Files.deleteIfExists(SAVE_FILE);
        CliRun.Result removed = CliRun.run(new byte[0], "install-hook", "--uninstall");
        assertEquals(0, removed.status(), removed.stderr());
        assertTrue(Files.notExists(Path.of("/etc/libvirt/hooks/qemu.d/50-vfio-tune")));
    }

    @Test
    void unappliedDomainIsRefusedThenPassesAfterApply() throws IOException {
        String input = Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/input.xml"))
                .replace("<name>clique-t4-pair-switch</name>", "<name>" + DOMAIN + "</name>").replaceAll("  <uuid>.*</uuid>\n", "");
        Path file = Files.writeString(work.resolve("domain.xml"), input);
        assertTrue(virsh("define", file.toString()).ok());

        Libvirt.Result refused = virsh("start", DOMAIN);
        assertEquals(1, refused.status());
        assertTrue(refused.stderr().contains("unexpected exit status 2: vfio-tune: error [HOOK-MISMATCH] domain " + DOMAIN
                + ": the definition does not fit this host; the plan wants 0000:03:00.0 x-nv-gpudirect-clique=0, 0000:04:00.0 x-nv-gpudirect-clique=0. Run 'vfio-tune apply "
                + DOMAIN + "' to redefine it, then start it again"), refused.stderr());

        CliRun.Result applied = CliRun.run(new byte[0], "apply", "--connect", Libvirt.URI, "--sysfs-root", sysfs.toString(), DOMAIN);
        assertEquals(0, applied.status(), applied.stderr());
        assertTrue(applied.stdout().startsWith("vfio-tune: " + DOMAIN + ": redefined ("), applied.stdout());
        assertTrue(virsh("dumpxml", "--inactive", DOMAIN).stdout().contains("<qemu:property name='x-nv-gpudirect-clique' type='unsigned' value='0'/>"));

        CliRun.Result reapplied = CliRun.run(new byte[0], "apply", "--connect", Libvirt.URI, "--sysfs-root", sysfs.toString(), DOMAIN);
        assertEquals("vfio-tune: " + DOMAIN + ": already fits this host\n", reapplied.stdout(), "apply on libvirt's own re-serialisation is a fixed point");

        Libvirt.Result passed = virsh("start", DOMAIN);
        assertEquals(1, passed.status());
        assertEquals("error: Failed to start domain '" + DOMAIN + "'\nerror: unsupported configuration: host doesn't support VFIO PCI passthrough", passed.stderr().strip());
    }

    /**
     * A TCG guest, saved and restored by the real libvirtd: at restore the filter
     * re-plans the saved XML and adds the site transform's override, which then
     * shows in the live definition. The start itself passes the gate only
     * because the domain says on-mismatch="warn".
     */
    @Test
    void restoreFilterRewritesTheSavedDefinition() throws IOException {
        String domain = """
                <domain type='qemu'>
                  <name>%s</name>
                  <metadata>
                    <vt:tune xmlns:vt="urn:vfio-tune:1" on-mismatch="warn"/>
                  </metadata>
                  <memory unit='KiB'>65536</memory>
                  <vcpu>1</vcpu>
                  <os>
                    <type arch='x86_64' machine='pc'>hvm</type>
                  </os>
                  <devices>
                    <emulator>/usr/bin/qemu-system-x86_64</emulator>
                    <rng model='virtio'>
                      <backend model='random'>/dev/urandom</backend>
                      <alias name='%s'/>
                    </rng>
                    <memballoon model='none'/>
                  </devices>
                </domain>
                """.formatted(RESTORED, RngPeriodSiteModule.ALIAS);
        assertTrue(virsh("define", Files.writeString(work.resolve("restored.xml"), domain).toString()).ok());
        Libvirt.Result started = virsh("start", RESTORED);
        assertTrue(started.ok(), started.stderr());
        assertTrue(!virsh("dumpxml", RESTORED).stdout().contains("qemu:override"), "a normal start ignores hook output, so nothing is added");

        Files.deleteIfExists(SAVE_FILE);
        Libvirt.Result saved = virsh("save", RESTORED, SAVE_FILE.toString());
        assertTrue(saved.ok(), saved.stderr());
        Libvirt.Result restored = virsh("restore", SAVE_FILE.toString());
        assertTrue(restored.ok(), restored.stderr());

        String live = virsh("dumpxml", RESTORED).stdout();
        assertTrue(live.contains("<qemu:device alias='" + RngPeriodSiteModule.ALIAS + "'>") && live.contains(
                "<qemu:property name='period' type='unsigned' value='" + RngPeriodSiteModule.PERIOD + "'/>"), live);
        assertTrue(virsh("destroy", RESTORED).ok());
    }

    @Test
    void unannotatedAndUnrelatedOperationsPassThrough() {
        CliRun.Result stopped = CliRun.run("<domain/>".getBytes(), "hook", DOMAIN, "stopped", "end", "-");
        assertEquals(0, stopped.status());
        CliRun.Result plain = CliRun.run("<domain type='qemu'><name>x</name></domain>".getBytes(), "hook", "x", "prepare", "begin", "-");
        assertEquals(0, plain.status());
        assertEquals("", plain.stdout() + plain.stderr());
    }

    private static Libvirt.Result virsh(String... arguments) {
        return Libvirt.run(Stream.concat(Stream.of("virsh", "-c", Libvirt.URI), Arrays.stream(arguments)).toList(), 120);
    }
}
