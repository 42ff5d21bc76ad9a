package io.vfiotune.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciBar;
import io.vfiotune.pci.PciDvsec;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.platform.NvidiaGraceGpu;
import io.vfiotune.probe.sysfs.SysfsHostTopology;
import io.vfiotune.spi.Finding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Grace Hopper / Grace Blackwell GPUs on the arm64 host fixtures: generation by device ID, layout by
 * NVIDIA's DVSEC 3 bit, the driver as the sysfs link names it, the host node, the physical BARs sysfs
 * shows, and the fake BARs nvgrace-gpu presents for a device memory size.
 */
class GraceProbeTest {
    private static final long GIB = 1L << 30;

    @Test
    void oneGh200OnTheVariantDriver(@TempDir Path sysfs) throws IOException {
        NvidiaGraceGpu gpu = grace("arm64-gh200-one", sysfs, "0009:01:00.0");
        assertEquals(NvidiaGraceGpu.Generation.GH, gpu.generation());
        assertEquals("GH200", gpu.model());
        assertTrue(gpu.dvsecFound());
        assertTrue(gpu.resmemExpected(), "DVSEC bit 0 clear: the GH layout with resmem");
        assertEquals(NvidiaGraceGpu.Binding.NVGRACE, gpu.binding());
        assertEquals(Optional.of("nvgrace_gpu_vfio_pci"), gpu.driver(), "the link's target name, untouched");
        assertEquals(OptionalInt.of(0), gpu.hostNode());
        // sysfs shows the physical BARs: BAR0 and the unused BAR1 at regions 2/3, nothing at BAR4
        assertEquals(16L << 20, gpu.hostBar(0).orElseThrow().size());
        assertEquals(128 * GIB, gpu.hostBar(2).orElseThrow().size());
        assertTrue(gpu.hostBar(4).isEmpty());
        assertTrue(gpu.presented().isEmpty(), "the fake BARs are not in sysfs");
        assertEquals(List.of(), gpu.findings());

        // 96 GiB of HBM3: usemem 95 GiB presented as 128 GiB, resmem 1 GiB
        NvidiaGraceGpu.PresentedBars bars = gpu.withDeviceMemory(96 * GIB).presented().orElseThrow();
        assertEquals(95 * GIB, bars.usememLength());
        assertEquals(128 * GIB, bars.usememBarSize());
        assertEquals(1 * GIB, bars.resmemLength());
        assertEquals(1 * GIB, bars.resmemBarSize());
        assertEquals(List.of(), gpu.withDeviceMemory(96 * GIB).findings());
    }

    @Test
    void plainVfioPciIsWarnedWithTheDriverOverrideFix(@TempDir Path sysfs) throws IOException {
        NvidiaGraceGpu gpu = grace("arm64-gh200-plain-vfio", sysfs, "0009:01:00.0");
        assertEquals(NvidiaGraceGpu.Binding.VFIO_PCI, gpu.binding());
        assertEquals(Optional.of("vfio-pci"), gpu.driver());
        List<Finding> findings = gpu.findings();
        assertEquals(1, findings.size(), findings.toString());
        Finding warning = findings.get(0);
        assertEquals("GRACE-PLAIN-VFIO", warning.code());
        assertEquals(io.vfiotune.spi.Severity.WARNING, warning.severity());
        assertTrue(warning.message().contains("usemem BAR4 and resmem BAR2 are missing"), warning.message());
        assertTrue(warning.message().contains("echo nvgrace_gpu_vfio_pci > /sys/bus/pci/devices/0009:01:00.0/driver_override"), warning.message());
    }

    @Test
    void twoGh200OnTwoSockets(@TempDir Path sysfs) throws IOException {
        FixtureHosts.materialize("arm64-gh200-two", sysfs);
        SysfsHostTopology topology = FixtureHosts.topology(sysfs);
        NvidiaGraceGpu first = NvidiaGraceGpu.of(topology.function(PciAddress.parse("0009:01:00.0")).orElseThrow()).orElseThrow();
        NvidiaGraceGpu second = NvidiaGraceGpu.of(topology.function(PciAddress.parse("0019:01:00.0")).orElseThrow()).orElseThrow();
        assertEquals(OptionalInt.of(0), first.hostNode());
        assertEquals(OptionalInt.of(1), second.hostNode());
        for (NvidiaGraceGpu gpu : List.of(first, second)) {
            assertEquals(NvidiaGraceGpu.Generation.GH, gpu.generation());
            assertTrue(gpu.resmemExpected());
            assertEquals(NvidiaGraceGpu.Binding.NVGRACE, gpu.binding());
            assertEquals(128 * GIB, gpu.hostBar(2).orElseThrow().size());
        }
        assertEquals("pci0019:00", topology.function(PciAddress.parse("0019:01:00.0")).orElseThrow().rootComplex());
    }

    @Test
    void gb200HasTheGbLayout(@TempDir Path sysfs) throws IOException {
        for (String address : List.of("0008:01:00.0", "0009:01:00.0")) {
            NvidiaGraceGpu gpu = grace("arm64-gb200", sysfs.resolve(address.replace(':', '-')), address);
            assertEquals(NvidiaGraceGpu.Generation.GB, gpu.generation());
            assertEquals("GB200", gpu.model());
            assertTrue(gpu.dvsecFound());
            assertFalse(gpu.resmemExpected(), "DVSEC bit 0 set: no resmem");
            assertEquals(NvidiaGraceGpu.Binding.NVGRACE, gpu.binding());
            assertEquals(OptionalInt.of(0), gpu.hostNode());
            assertEquals(128 * GIB, gpu.hostBar(2).orElseThrow().size(), "the physical BAR2, which the guest gets");
            // 186 GB of HBM3e, all usemem: presented as 256 GiB
            NvidiaGraceGpu.PresentedBars bars = gpu.withDeviceMemory(186 * GIB).presented().orElseThrow();
            assertEquals(256 * GIB, bars.usememBarSize());
            assertEquals(0, bars.resmemBarSize());
            assertEquals(List.of(), gpu.findings());
        }
    }

    @Test
    void presentedBarsFollowTheDriversRounding() {
        // not 512 MiB aligned: usemem is rounded down, resmem takes the rest and rounds up to 2 GiB
        NvidiaGraceGpu.PresentedBars odd = NvidiaGraceGpu.presentedBars(true, 96 * GIB + (300L << 20));
        assertEquals(95 * GIB, odd.usememLength());
        assertEquals(128 * GIB, odd.usememBarSize());
        assertEquals(GIB + (300L << 20), odd.resmemLength());
        assertEquals(2 * GIB, odd.resmemBarSize());
        // exactly a power of two stays
        assertEquals(128 * GIB, NvidiaGraceGpu.presentedBars(false, 128 * GIB).usememBarSize());
        // no memory (C2C link down): nothing presented
        assertEquals(0, NvidiaGraceGpu.presentedBars(true, 0).usememBarSize());
        assertEquals(0, NvidiaGraceGpu.presentedBars(true, GIB).usememBarSize());
    }

    @Test
    void variantDriverWithoutDeviceMemoryIsWarned() {
        NvidiaGraceGpu gpu = NvidiaGraceGpu.of(function(0x2342, Optional.of("nvgrace_gpu_vfio_pci"), List.of())).orElseThrow();
        assertFalse(gpu.dvsecFound());
        assertTrue(gpu.resmemExpected(), "no DVSEC: the driver assumes the MIG bug, as on GH");
        List<Finding> findings = gpu.withDeviceMemory(0).findings();
        assertEquals(List.of("GRACE-NO-DEVICE-MEMORY"), findings.stream().map(Finding::code).toList());
        assertTrue(findings.get(0).message().contains("usemem BAR4 and resmem BAR2 are not presented"), findings.get(0).message());
    }

    @Test
    void onlyTheFiveIdsAndOnlyTheExactDriverName() {
        assertTrue(NvidiaGraceGpu.of(function(0x2330, Optional.of("vfio-pci"), List.of())).isEmpty(), "H100 SXM is no Grace GPU");
        for (int id : new int[] {0x2342, 0x2345, 0x2348, 0x2941, 0x31c2}) {
            assertTrue(NvidiaGraceGpu.of(function(id, Optional.empty(), List.of())).isPresent(), Integer.toHexString(id));
        }
        assertEquals("GB300", NvidiaGraceGpu.of(function(0x31c2, Optional.empty(), List.of())).orElseThrow().model());
        assertEquals(NvidiaGraceGpu.Binding.NONE, NvidiaGraceGpu.binding(Optional.empty()));
        assertEquals(NvidiaGraceGpu.Binding.OTHER, NvidiaGraceGpu.binding(Optional.of("nvgrace-gpu-vfio-pci")), "sysfs never spells it with dashes");
        assertEquals(NvidiaGraceGpu.Binding.OTHER, NvidiaGraceGpu.binding(Optional.of("nvidia")));
        // a DVSEC too short to hold the register says nothing: GH layout
        PciDvsec shortDvsec = new PciDvsec(0x300, 0x10de, 0, 0x0a, 3, OptionalInt.empty());
        assertTrue(NvidiaGraceGpu.of(function(0x2941, Optional.empty(), List.of(shortDvsec))).orElseThrow().resmemExpected());
        PciDvsec otherVendor = new PciDvsec(0x300, 0x1e98, 0, 0x10, 3, OptionalInt.of(1));
        assertTrue(NvidiaGraceGpu.of(function(0x2941, Optional.empty(), List.of(otherVendor))).orElseThrow().resmemExpected());
    }

    @Test
    void probeTextAndJson(@TempDir Path sysfs) throws IOException {
        FixtureHosts.materialize("arm64-gh200-one", sysfs.resolve("one"));
        CliRun.Result text = CliRun.run(new byte[0], "probe", "--sysfs-root", sysfs.resolve("one").toString(), "0009:01:00.0");
        assertEquals(0, text.status(), text.stderr());
        // the fixture declares 96G (grace-device-memory, as vfio-tune.properties would)
        assertTrue(text.stdout().contains("  grace: GH200 (GH layout, resmem 1G at bar2, usemem 128G at bar4), driver nvgrace_gpu_vfio_pci, host node 0\n"), text.stdout());
        Files.writeString(sysfs.resolve("one/facts.properties"), Files.readString(sysfs.resolve("one/facts.properties")).replaceAll("grace-device-memory=.*", "grace-device-memory="));
        CliRun.Result undeclared = CliRun.run(new byte[0], "probe", "--sysfs-root", sysfs.resolve("one").toString(), "0009:01:00.0");
        assertTrue(undeclared.stdout().contains("  grace: GH200 (GH layout, resmem at bar2, usemem at bar4; sizes not in sysfs, the driver presents them"
                + " through VFIO only: declare the device memory with grace-device-memory), driver nvgrace_gpu_vfio_pci, host node 0\n"), undeclared.stdout());
        assertTrue(text.stdout().contains("host: arch aarch64, page size 65536"), text.stdout());
        FixtureHosts.materialize("arm64-gb200", sysfs.resolve("gb"));
        String json = line(CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", sysfs.resolve("one").toString(), "0009:01:00.0").stdout(), "0009:01:00.0");
        assertTrue(json.contains("\"grace\":{\"model\":\"GH200\",\"generation\":\"GH\",\"layout\":\"gh\",\"dvsec\":true,\"resmemExpected\":true,"
                + "\"binding\":\"nvgrace\",\"driver\":\"nvgrace_gpu_vfio_pci\",\"hostNode\":0,\"hostBar2Size\":137438953472,"
                + "\"usememBarSize\":null,\"resmemBarSize\":null,\"findings\":[]}"), json);
        String declaredJson = line(CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", sysfs.resolve("gb").toString(), "0008:01:00.0").stdout(), "0008:01:00.0");
        assertTrue(declaredJson.contains("\"usememBarSize\":274877906944,\"resmemBarSize\":null"), declaredJson);

        FixtureHosts.materialize("arm64-gh200-plain-vfio", sysfs.resolve("plain"));
        CliRun.Result plain = CliRun.run(new byte[0], "probe", "--sysfs-root", sysfs.resolve("plain").toString(), "0009:01:00.0");
        assertTrue(plain.stdout().contains("driver vfio-pci, host node 0\n  warning: [GRACE-PLAIN-VFIO] GH200 is bound to plain vfio-pci"), plain.stdout());
        String plainJson = line(CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", sysfs.resolve("plain").toString()).stdout(), "0009:01:00.0");
        assertTrue(plainJson.contains("\"binding\":\"vfio-pci\"") && plainJson.contains("\"code\":\"GRACE-PLAIN-VFIO\""), plainJson);

        CliRun.Result gb = CliRun.run(new byte[0], "probe", "--sysfs-root", sysfs.resolve("gb").toString());
        assertTrue(gb.stdout().contains("  grace: GB200 (GB layout, physical bar2 128G passed through, usemem 256G at bar4), driver nvgrace_gpu_vfio_pci"), gb.stdout());

        FixtureHosts.materialize("x86-plx-t4-pair", sysfs.resolve("t4"));
        String t4 = line(CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", sysfs.resolve("t4").toString(), "0000:03:00.0").stdout(), "0000:03:00.0");
        assertTrue(t4.contains("\"grace\":null"), t4);
    }

    private static NvidiaGraceGpu grace(String host, Path sysfs, String address) throws IOException {
        FixtureHosts.materialize(host, sysfs);
        PciFunction function = FixtureHosts.topology(sysfs).function(PciAddress.parse(address)).orElseThrow();
        assertEquals(List.of(), function.faults());
        return NvidiaGraceGpu.of(function).orElseThrow();
    }

    private static PciFunction function(int deviceId, Optional<String> driver, List<PciDvsec> dvsecs) {
        return new PciFunction(PciAddress.parse("0009:01:00.0"), 0x10de, deviceId, 0x030200, OptionalInt.of(0), OptionalInt.of(9), driver,
                List.of(new PciBar(0, PciBar.Kind.MEMORY_64, true, 16L << 20)), List.of(), Optional.empty(), Optional.empty(), Optional.empty(),
                List.of(), "pci0009:00", List.of(), 4096, List.of(), OptionalInt.empty(), dvsecs);
    }

    private static String line(String json, String address) {
        return Arrays.stream(json.split("\n")).filter(text -> text.startsWith(" {\"address\":\"" + address + "\"")).findFirst()
                .orElseThrow(() -> new AssertionError(address + " not in " + json));
    }
}
