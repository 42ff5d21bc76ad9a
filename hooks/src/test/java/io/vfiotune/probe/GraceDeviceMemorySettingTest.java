package io.vfiotune.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciBar;
import io.vfiotune.platform.NvidiaGraceGpu;
import io.vfiotune.probe.facts.ConfiguredHostFacts;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.facts.NativeSystem;
import io.vfiotune.probe.facts.QemuVersionProbe;
import io.vfiotune.spi.VfioTuneException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code grace-device-memory}: the one way vfio-tune learns what sysfs cannot show, the size
 * of the fake BARs nvgrace-gpu presents, which sizes the guest's 64-bit window.
 */
class GraceDeviceMemorySettingTest {
    private static final long GIB = 1L << 30;

    @Test
    void addressesAndDeviceIdsInBinaryUnits(@TempDir Path directory) throws IOException {
        Map<String, Long> memory = facts(directory, "grace-device-memory=0009:01:00.0=96G, 10DE:2941=186g,10de:31c2=294912M,10de:2348=1T\n").graceDeviceMemory();
        assertEquals(Map.of("0009:01:00.0", 96 * GIB, "10de:2941", 186 * GIB, "10de:31c2", 288 * GIB, "10de:2348", 1024 * GIB), memory);
        assertEquals(Map.of(), facts(directory, "grace-device-memory=\n").graceDeviceMemory(), "an empty setting declares nothing");
        assertEquals(Map.of(), facts(directory, "syslog=no\n").graceDeviceMemory());
    }

    @Test
    void badEntriesAreConfigErrors(@TempDir Path directory) throws IOException {
        for (String bad : List.of("0009:01:00.0", "0009:01:00.0=96X", "gpu0=96G", "10de:2941=0G", "10de:2941=2048T", "10de:2941=96G,10DE:2941=97G", "0009:01:00.0=-1G")) {
            ConfiguredHostFacts facts = facts(directory, "grace-device-memory=" + bad + "\n");
            VfioTuneException refused = assertThrows(VfioTuneException.class, facts::graceDeviceMemory, bad);
            assertEquals("CONFIG-INVALID", refused.finding().code(), bad);
            assertTrue(refused.finding().message().startsWith("'" + bad + "' is not valid: "), refused.finding().message());
        }
    }

    @Test
    void theAddressWinsOverTheDeviceId(@TempDir Path sysfs) throws IOException {
        FixtureHosts.materialize("arm64-gh200-two", sysfs);
        NvidiaGraceGpu first = NvidiaGraceGpu.of(FixtureHosts.topology(sysfs).function(PciAddress.parse("0009:01:00.0")).orElseThrow()).orElseThrow();
        NvidiaGraceGpu second = NvidiaGraceGpu.of(FixtureHosts.topology(sysfs).function(PciAddress.parse("0019:01:00.0")).orElseThrow()).orElseThrow();
        Map<String, Long> declared = Map.of("10de:2342", 96 * GIB, "0019:01:00.0", 144 * GIB);
        assertEquals(128 * GIB, first.withDeclaredMemory(declared).presented().orElseThrow().usememBarSize());
        assertEquals(256 * GIB, second.withDeclaredMemory(declared).presented().orElseThrow().usememBarSize(), "144 GB HBM3e: usemem 143 GiB in a 256 GiB BAR");
        assertTrue(first.withDeclaredMemory(Map.of("10de:2941", GIB)).presented().isEmpty(), "another model's size says nothing of this GPU");
    }

    @Test
    void theGuestGetsThePresentedBarsInPlaceOfThePhysicalOnes(@TempDir Path sysfs) throws IOException {
        FixtureHosts.materialize("arm64-gh200-one", sysfs.resolve("gh"));
        NvidiaGraceGpu gh = NvidiaGraceGpu.of(FixtureHosts.topology(sysfs.resolve("gh")).function(PciAddress.parse("0009:01:00.0")).orElseThrow()).orElseThrow();
        assertTrue(gh.guestBars64().isEmpty(), "without the device memory the largest BAR is unknown");
        // GH layout: the physical 128G at BAR2 is replaced by the 1G resmem; usemem 128G at BAR4; BAR0 is 64-bit 16M
        assertEquals(List.of(new PciBar(0, PciBar.Kind.MEMORY_64, true, 16L << 20), new PciBar(2, PciBar.Kind.MEMORY_64, true, GIB),
                new PciBar(4, PciBar.Kind.MEMORY_64, true, 128 * GIB)), gh.withDeviceMemory(96 * GIB).guestBars64().orElseThrow());

        FixtureHosts.materialize("arm64-gb200", sysfs.resolve("gb"));
        NvidiaGraceGpu gb = NvidiaGraceGpu.of(FixtureHosts.topology(sysfs.resolve("gb")).function(PciAddress.parse("0008:01:00.0")).orElseThrow()).orElseThrow();
        List<PciBar> bars = gb.withDeviceMemory(186 * GIB).guestBars64().orElseThrow();
        // GB layout: the physical BAR2 stays the guest's, usemem 256G at BAR4
        assertEquals(List.of(2, 4), bars.stream().filter(bar -> bar.size() >= GIB).map(PciBar::index).toList());
        assertEquals(128 * GIB, bars.stream().filter(bar -> bar.index() == 2).findFirst().orElseThrow().size());
        assertEquals(256 * GIB, bars.stream().filter(bar -> bar.index() == 4).findFirst().orElseThrow().size());
    }

    private static ConfiguredHostFacts facts(Path directory, String properties) throws IOException {
        Path config = Files.writeString(directory.resolve("vfio-tune.properties"), properties);
        HostSettings settings = HostSettings.load(Map.of(), Map.of(HostSettings.CONFIG_ENVIRONMENT_VARIABLE, config.toString()));
        return new ConfiguredHostFacts(settings, NativeSystem.create(), () -> {
            throw new IllegalStateException("not needed");
        }, new QemuVersionProbe(Optional.empty()));
    }
}
