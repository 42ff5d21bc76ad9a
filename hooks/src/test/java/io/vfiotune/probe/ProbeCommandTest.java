package io.vfiotune.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/** {@code vfio-tune probe --json} end to end: the derived answers the transforms decide from. */
class ProbeCommandTest {
    @Test
    void teslaPairBehindOneSwitchAndPascalOnTheOtherSocket(@TempDir Path sysfs) throws IOException {
        FixtureHosts.materialize("x86-plx-t4-pair", sysfs);
        String json = probe(sysfs, "4096", "0000:03:00.0", "0000:04:00.0", "0000:81:00.0", "0000:02:08.0");
        String t4 = line(json, "0000:03:00.0");
        assertTrue(t4.contains("\"cliqueRoom\":{\"0xc8\":false,\"0xd4\":true}"), t4);
        assertTrue(t4.contains("\"cliquePlacement\":{\"withD4Fallback\":{\"offset\":212,\"accepted\":true,\"collisions\":[],\"truncations\":[]},"
                + "\"withoutD4Fallback\":{\"offset\":200,\"accepted\":false,\"collisions\":[{\"id\":17,\"offset\":200,\"startsInside\":true}],\"truncations\":[]}}"), t4);
        assertTrue(t4.contains("\"switchUpstreamPort\":\"0000:01:00.0\""), t4);
        assertTrue(t4.contains("\"msix\":{\"offset\":200,\"vectors\":6,\"tableBar\":0,\"tableOffset\":12124160,\"pbaBar\":0,\"pbaOffset\":12189696}"), t4);
        assertTrue(t4.contains("\"msixRelocationHelps\":false"), t4);
        assertTrue(t4.contains("\"name\":\"NVIDIA Corporation TU104GL [Tesla T4]\""), t4);
        String p1000 = line(json, "0000:81:00.0");
        assertTrue(p1000.contains("\"cliqueRoom\":{\"0xc8\":true,\"0xd4\":true}"), p1000);
        assertTrue(p1000.contains("\"numaNode\":1") && p1000.contains("\"rootComplex\":\"pci0000:80\"") && p1000.contains("\"switchUpstreamPort\":null"), p1000);
        String hopper = line(probe(sysfs, "4096", "0000:82:00.0"), "0000:82:00.0");
        assertTrue(hopper.contains("\"cliqueRoom\":{\"0xc8\":true,\"0xd4\":true}") && hopper.contains("\"msix\":{\"offset\":176,"), hopper);
        String port = line(json, "0000:02:08.0");
        assertTrue(port.contains("\"portType\":\"switch_downstream\"") && port.contains("\"acsRedirect\":false"), port);
        assertTrue(json.contains("{\"a\":\"0000:03:00.0\",\"b\":\"0000:04:00.0\",\"route\":\"switch\",\"direct\":true,\"redirectingPorts\":[]}"), json);
        assertTrue(json.contains("{\"a\":\"0000:03:00.0\",\"b\":\"0000:81:00.0\",\"route\":\"across_host_bridges\",\"direct\":false,\"redirectingPorts\":[]}"), json);

        String large = line(probe(sysfs, "65536", "0000:03:00.0"), "0000:03:00.0");
        assertTrue(large.contains("\"msixRelocationHelps\":true"), large);
        assertTrue(large.contains("\"msixRelocation\":{\"value\":\"bar5\",\"source\":\"computed: empty slot (32-bit)\",\"need\":\"for-speed\"}"), large);
    }

    /** The MSI-X decisions of the msix-* golden cases, as probe shows them: the same as the plan's. */
    @Test
    void msixDecisionsAgreeWithThePlan(@TempDir Path sysfs) throws IOException {
        Path cases = FixtureHosts.HOSTS.resolveSibling("golden");
        HostFixture.load(cases.resolve("msix-pba-in-empty-bar-relocated/host")).materialize(sysfs.resolve("empty-bar"));
        String emptyBar = line(probe(sysfs.resolve("empty-bar"), "4096", "0000:03:00.0"), "0000:03:00.0");
        assertTrue(emptyBar.contains("\"pbaBar\":1,\"pbaOffset\":512000") && emptyBar.contains("\"msixRelocationHelps\":true")
                && emptyBar.contains("\"msixRelocation\":{\"value\":\"bar1\",\"source\":\"computed: empty slot (32-bit)\",\"need\":\"to-start\"}"), emptyBar);

        FixtureHosts.materialize("x86-msix-devices", sysfs.resolve("devices"));
        String chelsio = line(probe(sysfs.resolve("devices"), "4096", "0000:04:01.0"), "0000:04:01.0");
        assertTrue(chelsio.contains("\"msixRelocation\":{\"value\":\"off\",\"source\":\"page layout\",\"need\":\"none\"}"), chelsio);
        String xhci = line(probe(sysfs.resolve("devices"), "65536", "0000:08:00.0"), "0000:08:00.0");
        assertTrue(xhci.contains("\"msixRelocationHelps\":false"), xhci);

        HostFixture.load(cases.resolve("msix-pseries-not-needed/host")).materialize(sysfs.resolve("power9"));
        String json = probe(sysfs.resolve("power9"), "65536", "0030:01:00.0");
        assertTrue(json.startsWith("{\"arch\":\"ppc64le\",\"pageSize\":65536,\"msixTableTrapped\":false,"), json);
        assertTrue(line(json, "0030:01:00.0").contains("\"msixRelocationHelps\":false"), json);
        CliRun.Result text = CliRun.run(new byte[0], "probe", "--sysfs-root", sysfs.resolve("power9").toString(), "0030:01:00.0");
        assertTrue(text.stdout().contains("  msi-x relocation at 65536-byte pages for pseries guests: off; not needed: QEMU does not trap the table of a pseries guest"),
                text.stdout());
    }

    @Test
    void msixIsUndecidedWithoutBarSizes(@TempDir Path sysfs) throws IOException {
        FixtureHosts.materialize("x86-haswell-p1000-cx3", sysfs);
        Files.delete(sysfs.resolve("sys/bus/pci/devices/0000:03:00.0").toRealPath().resolve("resource"));
        CliRun.Result text = CliRun.run(new byte[0], "probe", "--sysfs-root", sysfs.toString(), "--page-size", "65536", "0000:03:00.0");
        assertTrue(text.stdout().contains("  msi-x relocation: undecided, the BAR sizes are unreadable\n") && !text.stdout().contains("msi-x relocation at"), text.stdout());
        String json = line(CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", sysfs.toString(), "0000:03:00.0").stdout(), "0000:03:00.0");
        assertTrue(json.contains("\"msixRelocationHelps\":null,\"msixRelocation\":null"), json);
    }

    @Test
    void connectX3TableSharesA64KPage(@TempDir Path sysfs) throws IOException {
        FixtureHosts.materialize("x86-haswell-p1000-cx3", sysfs);
        assertTrue(line(probe(sysfs, "4096", "0000:03:00.0"), "0000:03:00.0").contains("\"msixRelocationHelps\":false"));
        assertTrue(line(probe(sysfs, "65536", "0000:03:00.0"), "0000:03:00.0").contains("\"msixRelocationHelps\":true"));
    }

    @Test
    void cliquePlacementWhatIfsFromTheGoldenCases(@TempDir Path sysfs) throws IOException {
        Path cases = FixtureHosts.HOSTS.resolveSibling("golden");
        HostFixture.load(cases.resolve("clique-msix-at-c4-refused/host")).materialize(sysfs.resolve("msix-c4"));
        HostFixture.load(cases.resolve("clique-vendor-cap-truncated-warned/host")).materialize(sysfs.resolve("vendor-c4"));
        String msix = line(probe(sysfs.resolve("msix-c4"), "4096", "0000:03:00.0"), "0000:03:00.0");
        // MSI-X at 0xc4 leaves 0xc8 "taken" by overlap, yet QEMU puts the clique there and fails on every version.
        assertTrue(msix.contains("\"withD4Fallback\":{\"offset\":200,\"accepted\":false,\"collisions\":[{\"id\":17,\"offset\":196,\"startsInside\":false}]"), msix);
        String vendor = line(probe(sysfs.resolve("vendor-c4"), "4096", "0000:03:00.0"), "0000:03:00.0");
        assertTrue(vendor.contains("\"withD4Fallback\":{\"offset\":200,\"accepted\":true,\"collisions\":[],\"truncations\":[{\"id\":9,\"offset\":196,\"keptBytes\":4}]}"), vendor);
        // The ConnectX-3 is no GPU: QEMU gives it no clique, so no placement is shown.
        assertTrue(line(probe(sysfs.resolve("msix-c4"), "4096", "0000:05:00.0"), "0000:05:00.0").contains("\"cliquePlacement\":null"));
    }

    @Test
    void skylakeIgdAtItsFixedAddress(@TempDir Path sysfs) throws IOException {
        FixtureHosts.materialize("x86-skylake-igd", sysfs);
        String igd = line(probe(sysfs, "4096", "0000:00:02.0"), "0000:00:02.0");
        assertTrue(igd.contains("\"vendor\":\"8086\",\"device\":\"191e\",\"class\":\"030000\""), igd);
        assertTrue(igd.contains("\"portType\":\"root_complex_integrated_endpoint\""), igd);
        assertTrue(igd.contains("\"igd\":{\"generation\":9,\"vga\":true,\"vgaAccess\":\"available\",\"legacyCapable\":true}"), igd);
    }

    @Test
    void igdWhatIfsFromTheGoldenCases(@TempDir Path sysfs) throws IOException {
        Path cases = FixtureHosts.HOSTS.resolveSibling("golden");
        HostFixture.load(cases.resolve("igd-gen11-legacy-refused/host")).materialize(sysfs.resolve("gen11"));
        HostFixture.load(cases.resolve("igd-non-vga-legacy-refused/host")).materialize(sysfs.resolve("non-vga"));
        String iceLake = line(probe(sysfs.resolve("gen11"), "4096", "0000:00:02.0"), "0000:00:02.0");
        assertTrue(iceLake.contains("\"device\":\"8a52\"") && iceLake.contains("\"igd\":{\"generation\":11,\"vga\":true,\"vgaAccess\":\"available\",\"legacyCapable\":false}"), iceLake);
        String nonVga = line(probe(sysfs.resolve("non-vga"), "4096", "0000:00:02.0"), "0000:00:02.0");
        assertTrue(nonVga.contains("\"class\":\"038000\"") && nonVga.contains("\"igd\":{\"generation\":9,\"vga\":false,\"vgaAccess\":\"available\",\"legacyCapable\":false}"), nonVga);
        // a GPU elsewhere is never an IGD, even from Intel's display class range
        FixtureHosts.materialize("x86-plx-t4-pair", sysfs.resolve("t4"));
        assertTrue(line(probe(sysfs.resolve("t4"), "4096", "0000:03:00.0"), "0000:03:00.0").contains("\"igd\":null"));
    }

    @Test
    void power9GpusPairWithTheirNvlinkBridgesInTwoGroups(@TempDir Path sysfs) throws IOException {
        FixtureHosts.materialize("power9-ac922-v100-npu", sysfs);
        String json = probe(sysfs, "65536", "0004:04:00.0", "0004:05:00.0", "0035:03:00.0", "0006:00:01.2");
        String gpu = line(json, "0004:04:00.0");
        assertTrue(gpu.contains("\"nvlinks\":[\"0006:00:00.0\",\"0006:00:00.1\",\"0006:00:00.2\"]"), gpu);
        assertTrue(gpu.contains("\"iommuGroup\":5") && gpu.contains("\"msix\":null"), gpu);
        assertTrue(line(json, "0035:03:00.0").contains("\"iommuGroup\":10"));
        assertTrue(line(json, "0006:00:01.2").contains("\"nvlinks\":[\"0004:05:00.0\"]"));
        assertTrue(json.contains("{\"a\":\"0004:04:00.0\",\"b\":\"0004:05:00.0\",\"route\":\"nvlink\",\"direct\":true"), json);
        assertTrue(json.contains("{\"a\":\"0004:04:00.0\",\"b\":\"0035:03:00.0\",\"route\":\"across_host_bridges\",\"direct\":false"), json);
    }

    @Test
    void missingFunctionIsRefusedByName(@TempDir Path sysfs) throws IOException {
        FixtureHosts.materialize("x86-skylake-igd", sysfs);
        CliRun.Result result = CliRun.run(new byte[0], "probe", "--sysfs-root", sysfs.toString(), "0000:3b:00.0");
        assertEquals(2, result.status());
        assertEquals("vfio-tune: error [HOSTDEV-MISSING] 0000:3b:00.0: no such PCI function on this host\n", result.stderr());
    }

    /** This machine's own /sys: a VM with virtio devices and no IOMMU, so every function says it has no group. */
    @Test
    void probesThisMachinesRealSysfs() throws IOException {
        Path devices = Path.of("/sys/bus/pci/devices");
        List<String> expected;
        try (Stream<Path> entries = Files.list(devices)) {
            expected = entries.map(path -> path.getFileName().toString()).sorted().toList();
        }
        CliRun.Result result = CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", "/", "--libvirt-version", "9.0.0", "--qemu-version", "7.2.0");
        assertEquals(0, result.status(), result.stderr());
        List<String> reported = Arrays.stream(result.stdout().split("\n")).filter(text -> text.startsWith(" {\"address\":"))
                .map(text -> text.substring(13, 25)).toList();
        assertEquals(expected, reported);
        boolean hostHasGroups = Files.isDirectory(Path.of("/sys/kernel/iommu_groups")) && Files.list(Path.of("/sys/kernel/iommu_groups")).findAny().isPresent();
        for (String address : expected) {
            String function = line(result.stdout(), address);
            assertTrue(function.contains("\"vendor\":\"" + Files.readString(devices.resolve(address).resolve("vendor")).trim().substring(2) + "\""), function);
            assertEquals(!hostHasGroups, function.contains("PROBE-NO-IOMMU-GROUP"), function);
        }
    }

    private static String probe(Path sysfs, String pageSize, String... functions) {
        String[] arguments = Stream.concat(Stream.of("probe", "--json", "--sysfs-root", sysfs.toString(), "--page-size", pageSize), Arrays.stream(functions)).toArray(String[]::new);
        CliRun.Result result = CliRun.run(new byte[0], arguments);
        assertEquals(0, result.status(), result.stderr());
        assertEquals("", result.stderr());
        return result.stdout();
    }

    private static String line(String json, String address) {
        return Arrays.stream(json.split("\n")).filter(text -> text.startsWith(" {\"address\":\"" + address + "\"")).findFirst()
                .orElseThrow(() -> new AssertionError(address + " not in " + json));
    }

    /**
     * probe --domain: the DGX A100 golden domain, planned, with every pair's host and guest path type;
     * the pinned-conflict case, which the plan refuses, shows the pair that differs as given.
     */
    @Test
    void domainPairTableOnTheDgx(@TempDir Path sysfs) throws IOException {
        Path cases = FixtureHosts.HOSTS.resolveSibling("golden");
        FixtureHosts.materialize("x86-dgx-a100-pex88096", sysfs.resolve("dgx"));
        CliRun.Result text = CliRun.run(new byte[0], "probe", "--sysfs-root", sysfs.resolve("dgx").toString(), "--domain",
                cases.resolve("topology-dgx-a100-mirror/input.xml").toString());
        assertEquals(0, text.status(), text.stderr());
        assertTrue(text.stdout().contains("  0000:07:00.0  host node 3 -> guest 0000:11:00.0 node 0\n"), text.stdout());
        assertTrue(text.stdout().contains("  0000:07:00.0  0000:0c:00.0  host PXB  guest PXB\n"), text.stdout());
        assertTrue(text.stdout().contains("  0000:0c:00.0  0000:14:00.0  host PIX  guest PIX\n"), text.stdout());
        assertTrue(text.stdout().contains("  0000:07:00.0  0000:47:00.0  host SYS  guest SYS\n"), text.stdout());
        assertTrue(!text.stdout().contains("(differs)"), text.stdout());
        // the domain's functions only, not the host's 94
        assertEquals(16, text.stdout().lines().filter(line -> line.matches("^0000:[0-9a-f:.]+ .*")).count(), text.stdout());
        String json = CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", sysfs.resolve("dgx").toString(), "--domain",
                cases.resolve("topology-dgx-a100-mirror/input.xml").toString()).stdout();
        assertTrue(json.contains("{\"a\":\"0000:0c:00.0\",\"b\":\"0000:14:00.0\",\"host\":\"PIX\",\"guest\":\"PIX\"}"), json);
        assertTrue(json.contains("{\"device\":\"0000:07:00.0\",\"functions\":[\"0000:07:00.0\"],\"hostNode\":3,\"guestAddress\":\"0000:11:00.0\",\"guestNode\":0}"), json);

        FixtureHosts.materialize("x86-dgx-two-switches", sysfs.resolve("two"));
        CliRun.Result refused = CliRun.run(new byte[0], "probe", "--sysfs-root", sysfs.resolve("two").toString(), "--domain",
                cases.resolve("topology-pinned-conflict-refused/input.xml").toString());
        assertTrue(refused.stderr().contains("[PROBE-NOT-PLANNED]"), refused.stderr());
        assertTrue(refused.stdout().contains("  0000:03:00.0  0000:04:00.0  host PIX  guest PHB  (differs)\n"), refused.stdout());
    }
}
