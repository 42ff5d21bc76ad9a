package io.vfiotune.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.probe.fixture.Directories;
import io.vfiotune.spi.VfioVgaAccess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code /sys/module/vfio_pci/parameters/disable_vga} as the probe reads it
 * (research item 11: absent in a kernel without CONFIG_VFIO_PCI_VGA, Y when
 * turned off), as fixtures write it, and as snapshots keep it.
 */
class VfioVgaAccessTest {
    @Test
    void readsEachStateOfTheParameter(@TempDir Path sysfs) throws IOException {
        FixtureHosts.materialize("x86-skylake-igd", sysfs);
        Path parameters = sysfs.resolve("sys/module/vfio_pci/parameters");
        assertEquals("N\n", Files.readString(parameters.resolve("disable_vga")), "the fixture's module line");
        assertEquals(VfioVgaAccess.AVAILABLE, FixtureHosts.topology(sysfs).vfioVgaAccess());
        Files.writeString(parameters.resolve("disable_vga"), "Y\n");
        assertEquals(VfioVgaAccess.DISABLED, FixtureHosts.topology(sysfs).vfioVgaAccess());
        Files.writeString(parameters.resolve("disable_vga"), "maybe\n");
        assertEquals(VfioVgaAccess.UNKNOWN, FixtureHosts.topology(sysfs).vfioVgaAccess());
        Files.delete(parameters.resolve("disable_vga"));
        assertEquals(VfioVgaAccess.NOT_BUILT_IN, FixtureHosts.topology(sysfs).vfioVgaAccess());
        Files.createDirectory(parameters.resolve("disable_vga"));
        assertEquals(VfioVgaAccess.UNKNOWN, FixtureHosts.topology(sysfs).vfioVgaAccess(), "never opens anything but a regular file");
        Directories.deleteTree(sysfs.resolve("sys/module"));
        assertEquals(VfioVgaAccess.UNKNOWN, FixtureHosts.topology(sysfs).vfioVgaAccess(), "vfio_pci not loaded");
    }

    @Test
    void fixtureModuleLinesReplaceAndRefuseOddNames(@TempDir Path work) throws IOException {
        Path host = Files.createDirectories(work.resolve("host"));
        Files.writeString(host.resolve("host.fixture"), "include " + FixtureHosts.HOSTS.resolve("x86-skylake-igd").toAbsolutePath() + "\nmodule vfio_pci\n");
        Path sysfs = HostFixture.load(host).materialize(work.resolve("sysfs"));
        assertTrue(Files.isDirectory(sysfs.resolve("sys/module/vfio_pci/parameters")));
        assertEquals(VfioVgaAccess.NOT_BUILT_IN, FixtureHosts.topology(sysfs).vfioVgaAccess());
        Files.writeString(host.resolve("host.fixture"), "module vfio_pci ../disable_vga=Y\n");
        IOException refused = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> HostFixture.load(host));
        assertTrue(refused.getMessage().contains("not a module or parameter name"), refused.getMessage());
    }

    @Test
    void probeShowsItAndSnapshotsKeepIt(@TempDir Path work) throws IOException {
        Path original = FixtureHosts.materialize("x86-skylake-igd", Files.createDirectory(work.resolve("host")));
        Files.writeString(original.resolve("sys/module/vfio_pci/parameters/disable_vga"), "Y\n");
        CliRun.Result probe = CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", original.toString(), "0000:00:02.0");
        assertEquals(0, probe.status(), probe.stderr());
        assertTrue(probe.stdout().contains("\"igd\":{\"generation\":9,\"vga\":true,\"vgaAccess\":\"disabled\",\"legacyCapable\":false}"), probe.stdout());
        CliRun.Result text = CliRun.run(new byte[0], "probe", "--sysfs-root", original.toString(), "0000:00:02.0");
        assertTrue(text.stdout().contains("igd: generation 9, VGA, vfio-pci VGA access disabled (disable_vga=Y), universal passthrough only (legacy mode needs VGA access through vfio-pci)"),
                text.stdout());
        Path snapshot = work.resolve("snapshot");
        CliRun.Result taken = CliRun.run(new byte[0], "snapshot", "--sysfs-root", original.toString(), snapshot.toString());
        assertEquals(0, taken.status(), taken.stderr());
        assertEquals("Y\n", Files.readString(snapshot.resolve("sys/module/vfio_pci/parameters/disable_vga")));
        assertEquals(probe.stdout(), CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", snapshot.toString(), "0000:00:02.0").stdout());
    }
}
