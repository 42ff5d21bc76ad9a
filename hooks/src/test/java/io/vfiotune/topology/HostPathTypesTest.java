package io.vfiotune.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.platform.NcclPathType;
import io.vfiotune.platform.PcieLineage;
import io.vfiotune.probe.facts.ConfiguredHostFacts;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.facts.NativeSystem;
import io.vfiotune.probe.facts.QemuVersionProbe;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.probe.sysfs.SysfsHostTopology;
import io.vfiotune.probe.sysfs.SysfsRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The host path types vfio-tune computes, on the fixtures built from the
 * corpus's topology captures, against what those captures show (nvidia-smi
 * topo -m, NCCL's topology XML). nvidia-smi's NODE is NCCL's PHB; nvidia-smi
 * does not merge a Broadcom switch's two port levels, NCCL does.
 */
class HostPathTypesTest {
    private static final Path HOSTS = Path.of(System.getProperty("vfio-tune.root", "..")).resolve("src/hosts");

    @TempDir
    Path sysfs;

    /** ../shared/corpus/pci/8gpu-two-pcie-switches-nvidia-smi-topo-m-PIX-NODE.txt: PIX inside a switch, NODE across. */
    @Test
    void eightGpusBehindTwoSwitches() throws IOException {
        SysfsHostTopology host = host("x86-dgx-two-switches");
        assertEquals(NcclPathType.PIX, type(host, "0000:03:00.0", "0000:06:00.0"));
        assertEquals(NcclPathType.PIX, type(host, "0000:43:00.0", "0000:44:00.0"));
        assertEquals(NcclPathType.PHB, type(host, "0000:03:00.0", "0000:43:00.0"));
    }

    /**
     * The DGX A100 captures: GPU pairs and GPU to NIC PXB (nvidia-smi-topo-m-pcie-only, NV12-partial),
     * across NUMA nodes SYS; the two NICs of a switch PIX once NCCL merges the PEX88096's levels
     * (nccl-topo-xml-pex88096-partial puts both in one switch node).
     */
    @Test
    void dgxA100PexSwitches() throws IOException {
        SysfsHostTopology host = host("x86-dgx-a100-pex88096");
        assertEquals(NcclPathType.PXB, type(host, "0000:07:00.0", "0000:11:00.0"));
        assertEquals(NcclPathType.PXB, type(host, "0000:07:00.0", "0000:0c:00.0"));
        assertEquals(NcclPathType.PXB, type(host, "0000:11:00.0", "0000:14:00.0"));
        assertEquals(NcclPathType.PIX, type(host, "0000:0c:00.0", "0000:14:00.0"));
        assertEquals(NcclPathType.SYS, type(host, "0000:07:00.0", "0000:47:00.0"));
        assertEquals(NcclPathType.SYS, type(host, "0000:07:00.0", "0000:61:00.0"));
    }

    /** Without the Broadcom subsystem ID NCCL does not merge the levels, and the NICs are PXB, as nvidia-smi prints. */
    @Test
    void broadcomLevelsMergeOnlyForTheBaseModeSubsystem() {
        PcieLineage.Bridge rootPort = new PcieLineage.Bridge("rp", 0x8086_2f04_0000_0000L);
        long baseMode = 0x1000_c010_1000_a096L;
        long otherMode = 0x1000_c010_1000_0000L;
        for (long upper : List.of(baseMode, otherMode)) {
            PcieLineage nic0 = new PcieLineage("pci0000:00", List.of(rootPort, new PcieLineage.Bridge("up", upper), new PcieLineage.Bridge("down0", upper),
                    new PcieLineage.Bridge("sub0", upper), new PcieLineage.Bridge("sub0-down", upper)), java.util.OptionalInt.of(3));
            PcieLineage nic1 = new PcieLineage("pci0000:00", List.of(rootPort, new PcieLineage.Bridge("up", upper), new PcieLineage.Bridge("down1", upper),
                    new PcieLineage.Bridge("sub1", upper), new PcieLineage.Bridge("sub1-down", upper)), java.util.OptionalInt.of(3));
            assertEquals(upper == baseMode ? NcclPathType.PIX : NcclPathType.PXB, NcclPathType.between(nic0, nic1), Long.toHexString(upper));
        }
    }

    /** ../shared/corpus/pci/asus-esc8000a-e12-...: every device on its own root port; NODE within a socket, SYS across. */
    @Test
    void asusEveryDeviceOnItsOwnRootPort() throws IOException {
        SysfsHostTopology host = host("x86-asus-esc8000a-4xada-2xcx7");
        assertEquals(NcclPathType.PHB, type(host, "0000:01:00.0", "0000:41:00.0"));
        assertEquals(NcclPathType.PHB, type(host, "0000:01:00.0", "0000:21:00.0"));
        assertEquals(NcclPathType.SYS, type(host, "0000:01:00.0", "0000:c1:00.0"));
        assertEquals(NcclPathType.SYS, type(host, "0000:21:00.0", "0000:81:00.0"));
    }

    /** ../shared/corpus/pci/puget-threadripper-pro-wrx90-...: PHB between the GPUs, NODE (NCCL: PHB) to the NIC. */
    @Test
    void pugetOneNode() throws IOException {
        SysfsHostTopology host = host("x86-puget-wrx90-2xada-cx7");
        assertEquals(NcclPathType.PHB, type(host, "0000:c1:00.0", "0000:c2:00.0"));
        assertEquals(NcclPathType.PHB, type(host, "0000:c1:00.0", "0000:21:00.0"));
    }

    private SysfsHostTopology host(String name) throws IOException {
        HostFixture.load(HOSTS.resolve(name)).materialize(sysfs);
        HostSettings settings = HostSettings.of(Map.of(HostSettings.SYSFS_ROOT, sysfs.toString()));
        return new SysfsHostTopology(new SysfsRoot(sysfs), new ConfiguredHostFacts(settings, NativeSystem.create(),
                () -> { throw new IllegalStateException("not needed"); }, new QemuVersionProbe(Optional.empty())));
    }

    private static NcclPathType type(SysfsHostTopology host, String a, String b) {
        PcieLineage first = PcieLineage.ofHost(host.function(PciAddress.parse(a)).orElseThrow(), host);
        PcieLineage second = PcieLineage.ofHost(host.function(PciAddress.parse(b)).orElseThrow(), host);
        NcclPathType type = NcclPathType.between(first, second);
        assertEquals(type, NcclPathType.between(second, first), "symmetric");
        return type;
    }
}
