package io.vfiotune.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.pci.MsixLayout;
import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciBar;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.pci.PciePortType;
import io.vfiotune.platform.MsixPlatform;
import io.vfiotune.platform.MsixVerdict;
import io.vfiotune.probe.facts.ConfiguredHostFacts;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.facts.NativeSystem;
import io.vfiotune.probe.facts.QemuVersionProbe;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.probe.sysfs.SysfsHostTopology;
import io.vfiotune.probe.sysfs.SysfsRoot;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The probe on the shared x86 fixture, whose config spaces are real corpus dumps. */
class FixtureProbeTest {
    @TempDir
    static Path sysfs;
    static SysfsHostTopology topology;

    @BeforeAll
    static void materialize() throws IOException {
        HostFixture.load(Path.of(System.getProperty("vfio-tune.root", "..")).resolve("src/hosts/x86-haswell-p1000-cx3")).materialize(sysfs);
        HostSettings settings = HostSettings.of(Map.of(HostSettings.SYSFS_ROOT, sysfs.toString()));
        topology = new SysfsHostTopology(new SysfsRoot(sysfs), new ConfiguredHostFacts(settings, NativeSystem.create(),
                () -> { throw new IllegalStateException("not needed"); }, new QemuVersionProbe(Optional.empty())));
    }

    @Test
    void pascalGpuHasCliqueRoomAtBothOffsets() {
        PciFunction gpu = function("0000:05:00.0");
        assertEquals(0x10de, gpu.vendorId());
        assertEquals(0x1cb1, gpu.deviceId());
        assertEquals(0x03, gpu.baseClass());
        assertEquals(List.of(0x60, 0x68, 0x78), gpu.capabilities().stream().filter(cap -> !cap.extended()).map(cap -> cap.offset()).toList());
        assertTrue(gpu.isConfigRangeFree(0xc8, 8));
        assertTrue(gpu.isConfigRangeFree(0xd4, 8));
        assertEquals(List.of(PciBar.Kind.MEMORY_32, PciBar.Kind.MEMORY_64, PciBar.Kind.MEMORY_64_UPPER_HALF, PciBar.Kind.MEMORY_64,
                PciBar.Kind.MEMORY_64_UPPER_HALF, PciBar.Kind.IO), gpu.bars().stream().map(PciBar::kind).toList());
        assertEquals(256L << 20, gpu.bar(1).orElseThrow().size());
        assertEquals(List.of(PciAddress.parse("0000:05:00.0"), PciAddress.parse("0000:05:00.1")), topology.iommuGroupMembers(14));
        assertEquals(Optional.of("vfio-pci"), gpu.driver());
        assertTrue(gpu.faults().isEmpty(), gpu.faults().toString());
    }

    @Test
    void connectX3TableSitsInsideItsRegisterBar() {
        PciFunction nic = function("0000:03:00.0");
        MsixLayout msix = nic.msix().orElseThrow();
        assertEquals(0x9c, msix.capabilityOffset());
        assertEquals(256, msix.vectors());
        assertEquals(0, msix.tableBar());
        assertEquals(0x7c000, msix.tableOffset());
        assertEquals(0x7d000, msix.pbaOffset());
        assertFalse(MsixVerdict.judge(nic, MsixPlatform.trappingTable(4096, Optional::empty)).orElseThrow().helps());
        assertEquals(MsixVerdict.Need.FOR_SPEED, MsixVerdict.judge(nic, MsixPlatform.trappingTable(65536, Optional::empty)).orElseThrow().need());
        // pseries guests: QEMU traps no page of the BAR, so the shared 64 KiB page costs nothing
        assertEquals(MsixVerdict.Need.NONE, MsixVerdict.judge(nic, MsixPlatform.pseries(65536, Optional::empty)).orElseThrow().need());
        assertEquals(List.of(PciAddress.parse("0000:00:02.0")), nic.upstream());
        assertEquals(Optional.of(PciePortType.ROOT_PORT), function("0000:00:02.0").portType());
    }

    @Test
    void missingDeviceIsEmpty() {
        assertTrue(topology.function(PciAddress.parse("0000:3b:00.0")).isEmpty());
    }

    @Test
    void corruptConfigSpacesGiveFaultsNotExceptions(@TempDir Path root) throws IOException {
        Path device = Files.createDirectories(root.resolve("sys/bus/pci/devices/0000:01:00.0"));
        byte[] config = new byte[256];
        config[0] = (byte) 0xde;
        config[1] = 0x10;
        config[6] = 0x10; // capability list present
        config[0x34] = 0x40;
        config[0x40] = 0x01;
        config[0x41] = 0x40; // points back at itself
        Files.write(device.resolve("config"), config);
        Path dead = Files.createDirectories(root.resolve("sys/bus/pci/devices/0000:02:00.0"));
        byte[] ones = new byte[256];
        java.util.Arrays.fill(ones, (byte) 0xff);
        Files.write(dead.resolve("config"), ones);
        SysfsHostTopology host = new SysfsHostTopology(new SysfsRoot(root), topology.facts());
        List<String> loopCodes = host.function(PciAddress.parse("0000:01:00.0")).orElseThrow().faults().stream().map(fault -> fault.code()).toList();
        assertTrue(loopCodes.contains("PROBE-CAP-LOOP"), loopCodes.toString());
        assertTrue(loopCodes.contains("PROBE-NO-RESOURCE"), loopCodes.toString());
        List<String> deadCodes = host.function(PciAddress.parse("0000:02:00.0")).orElseThrow().faults().stream().map(fault -> fault.code()).toList();
        assertTrue(deadCodes.contains("PROBE-ALL-FF"), deadCodes.toString());
    }

    private static PciFunction function(String address) {
        return topology.function(PciAddress.parse(address)).orElseThrow();
    }
}
