package io.vfiotune.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.probe.sysfs.SysfsHostTopology;
import io.vfiotune.spi.Finding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Odd sysfs, built by damaging a materialised real fixture: each fault gives a
 * finding with its code, never an exception or a hang.
 */
class SysfsFaultTest {
    private static final PciAddress T4 = PciAddress.parse("0000:03:00.0");

    @Test
    void pointerPastTheEndStopsTheWalk(@TempDir Path sysfs) throws IOException {
        Path config = device(sysfs).resolve("config");
        byte[] bytes = Files.readAllBytes(config);
        bytes[0x79] = (byte) 0x20; // PCIe capability's next pointer into the header
        Files.write(config, bytes);
        assertEquals(List.of("PROBE-CAP-POINTER"), codes(sysfs));
    }

    @Test
    void cyclicListStops(@TempDir Path sysfs) throws IOException {
        Path config = device(sysfs).resolve("config");
        byte[] bytes = Files.readAllBytes(config);
        bytes[0xc9] = (byte) 0x60; // MSI-X points back at the first capability
        bytes[0x102] = (byte) 0x00;
        bytes[0x103] = (byte) 0x10; // extended VC points back at itself
        Files.write(config, bytes);
        assertEquals(List.of("PROBE-CAP-LOOP", "PROBE-CAP-LOOP"), codes(sysfs));
    }

    @Test
    void allOnesDevice(@TempDir Path sysfs) throws IOException {
        byte[] ones = new byte[4096];
        Arrays.fill(ones, (byte) 0xff);
        Files.write(device(sysfs).resolve("config"), ones);
        assertEquals(List.of("PROBE-ALL-FF"), codes(sysfs));
    }

    @Test
    void headerOnlyReadOfANonRootUser(@TempDir Path sysfs) throws IOException {
        Path config = device(sysfs).resolve("config");
        Files.write(config, Arrays.copyOf(Files.readAllBytes(config), 64));
        assertEquals(List.of("PROBE-HEADER-ONLY"), codes(sysfs));
        PciFunction t4 = FixtureHosts.topology(sysfs).function(T4).orElseThrow();
        assertTrue(!t4.isConfigRangeFree(0xc8, 8) && !t4.isConfigRangeFree(0xd4, 8), "unknown clique room is never reported free");
    }

    @Test
    void missingResourceIommuGroupAndNumaNode(@TempDir Path sysfs) throws IOException {
        Path device = device(sysfs);
        Files.delete(device.resolve("resource"));
        Files.delete(device.resolve("iommu_group"));
        Files.delete(device.resolve("numa_node"));
        assertEquals(List.of("PROBE-NO-RESOURCE", "PROBE-NO-IOMMU-GROUP", "PROBE-NO-NUMA-NODE"), codes(sysfs));
    }

    @Test
    void danglingIommuGroupLink(@TempDir Path sysfs) throws IOException {
        Path link = device(sysfs).resolve("iommu_group");
        Files.delete(link);
        Files.createSymbolicLink(link, Path.of("../../../../kernel/iommu_groups/999"));
        assertEquals(List.of("PROBE-DANGLING-LINK"), codes(sysfs));
    }

    /** Root reads any mode, so "unreadable" is made with a config that is not a file; the same code covers EACCES. */
    @Test
    void unreadableConfig(@TempDir Path sysfs) throws IOException {
        Path config = device(sysfs).resolve("config");
        Files.delete(config);
        Files.createDirectory(config);
        assertEquals(List.of("PROBE-UNREADABLE"), codes(sysfs));
    }

    @Test
    void functionVanishingBetweenListingAndReading(@TempDir Path sysfs) throws IOException {
        Path device = device(sysfs);
        SysfsHostTopology topology = FixtureHosts.topology(sysfs);
        assertTrue(topology.listFunctions().contains(T4));
        Files.delete(device.resolve("config")); // hot-unplug underway: the directory is still there, its files are going
        assertEquals(List.of("PROBE-VANISHED"), topology.function(T4).orElseThrow().faults().stream().map(Finding::code).toList());
    }

    private static Path device(Path sysfs) throws IOException {
        FixtureHosts.materialize("x86-plx-t4-pair", sysfs);
        return sysfs.resolve("sys/bus/pci/devices").resolve(T4.toString()).toRealPath();
    }

    private static List<String> codes(Path sysfs) throws IOException {
        return FixtureHosts.topology(sysfs).function(T4).orElseThrow().faults().stream().map(Finding::code).toList();
    }
}
