package io.vfiotune.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.golden.Libvirt;
import io.vfiotune.stack.Stacks;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The guest-visible layouts through the define-time path, as an operator runs
 * it: {@code virsh define} (libvirt fills in its own addresses), then
 * {@code vfio-tune apply}, then libvirt's re-serialisation must be a fixed
 * point of the plan, and the argv of what libvirt stored must show the layout.
 */
class LayoutApplyTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final String PSERIES = "vt-layout-pseries-test";
    private static final String IGD = "vt-layout-igd-test";
    private static final String TOPOLOGY = "vt-layout-topology-test";

    @TempDir
    static Path work;

    @BeforeAll
    static void startLibvirt() {
        Libvirt.ensureRunning();
    }

    @AfterEach
    void undefine() {
        virsh("undefine", PSERIES);
        virsh("undefine", IGD);
        virsh("undefine", TOPOLOGY);
    }

    @Test
    void libvirtsAddressesOnTheDefaultPhbBecomeOnePhbPerGroup() throws IOException {
        Path sysfs = fixture("power9-ac922-v100-npu", "pseries-sysfs");
        define("spapr-two-groups-no-cells", PSERIES);
        String defined = virsh("dumpxml", "--inactive", PSERIES).stdout();
        assertTrue(defined.contains("bus='0x00'") && !defined.contains("spapr-pci-host-bridge'/>\n      <target index='1'"),
                "libvirt, seeing no IOMMU groups here, puts every hostdev on the default PHB:\n" + defined);

        assertApplied(sysfs, PSERIES);
        String argv = Stacks.debian12().domxmlToNative(Files.writeString(work.resolve("pseries-stored.xml"), virsh("dumpxml", "--inactive", PSERIES).stdout())).stdout();
        assertTrue(argv.contains("{\"driver\":\"spapr-pci-host-bridge\",\"index\":1,\"id\":\"pci.1\"}"), argv);
        assertTrue(argv.contains("{\"driver\":\"spapr-pci-host-bridge\",\"index\":2,\"id\":\"pci.2\"}"), argv);
        for (String gpu : List.of("0004:04:00.0", "0004:05:00.0", "0006:00:00.0", "0006:00:01.2")) {
            assertEquals("pci.1.0", busOf(argv, gpu), "group 5 on PHB 1: " + gpu);
        }
        for (String gpu : List.of("0035:03:00.0", "0035:04:00.0", "0007:00:00.0", "0007:00:01.2")) {
            assertEquals("pci.2.0", busOf(argv, gpu), "group 10 on PHB 2: " + gpu);
        }
    }

    @Test
    void igdMovesToItsLegacySlotOverLibvirtsCirrus() throws IOException {
        Path sysfs = fixture("x86-skylake-igd", "igd-sysfs");
        define("igd-i440fx-legacy-cirrus", IGD);
        assertApplied(sysfs, IGD);
        String stored = virsh("dumpxml", "--inactive", IGD).stdout();
        assertTrue(stored.contains("<model type='none'/>") && stored.contains("<rom bar='on'/>"), stored);
        String argv = Stacks.debian12().domxmlToNative(Files.writeString(work.resolve("igd-stored.xml"), stored)).stdout();
        assertTrue(argv.contains("{\"driver\":\"vfio-pci\",\"host\":\"0000:00:02.0\",\"id\":\"ua-vt-0000-00-02-0\",\"bus\":\"pci.0\",\"addr\":\"0x2\",\"rombar\":1,\"x-igd-opregion\":true}"), argv);
        assertFalse(argv.contains("cirrus") || argv.contains("VGA"), argv);
    }

    /**
     * libvirt gives each hostdev a root port of its own on pcie.0 at define time (PHB between all of them);
     * apply moves them into the mirror, and libvirt's own additions to it (chassis, ports, the expander bus's
     * slot) leave the plan a fixed point.
     */
    @Test
    void libvirtsRootPortsBecomeTheHostsSwitches() throws IOException {
        Path sysfs = fixture("x86-dgx-two-switches", "topology-sysfs");
        define("topology-8gpu-two-switches", TOPOLOGY);
        String defined = virsh("dumpxml", "--inactive", TOPOLOGY).stdout();
        assertFalse(defined.contains("pcie-expander-bus") || defined.contains("pcie-switch"), "libvirt itself adds only root ports:\n" + defined);

        assertApplied(sysfs, TOPOLOGY);
        String stored = virsh("dumpxml", "--inactive", TOPOLOGY).stdout();
        String argv = Stacks.debian12().domxmlToNative(Files.writeString(work.resolve("topology-stored.xml"), stored)).stdout();
        assertTrue(argv.contains("\"driver\":\"pxb-pcie\"") && argv.contains("\"numa_node\":0"), argv);
        // one guest switch per host switch: the four GPUs of a host switch share one upstream port
        Matcher upstream = Pattern.compile("\\{\"driver\":\"xio3130-downstream\",[^}]*\"id\":\"(pci\\.\\d+)\",\"bus\":\"(pci\\.\\d+)\"").matcher(argv);
        java.util.Map<String, String> upstreamOfPort = new java.util.HashMap<>();
        while (upstream.find()) {
            upstreamOfPort.put(upstream.group(1), upstream.group(2));
        }
        for (List<String> hostSwitch : List.of(List.of("0000:03:00.0", "0000:04:00.0", "0000:05:00.0", "0000:06:00.0"),
                List.of("0000:43:00.0", "0000:44:00.0", "0000:45:00.0", "0000:46:00.0"))) {
            java.util.Set<String> upstreams = new java.util.HashSet<>();
            for (String gpu : hostSwitch) {
                upstreams.add(upstreamOfPort.getOrDefault(busOf(argv, gpu), "not on a downstream port: " + busOf(argv, gpu)));
            }
            assertEquals(1, upstreams.size(), hostSwitch + " share one guest switch: " + upstreams + "\n" + argv);
        }
    }

    private static void assertApplied(Path sysfs, String domain) {
        CliRun.Result applied = CliRun.run(new byte[0], "apply", "--connect", Libvirt.URI, "--sysfs-root", sysfs.toString(), domain);
        assertEquals(0, applied.status(), applied.stderr());
        assertTrue(applied.stdout().startsWith("vfio-tune: " + domain + ": redefined ("), applied.stdout());
        CliRun.Result again = CliRun.run(new byte[0], "apply", "--connect", Libvirt.URI, "--sysfs-root", sysfs.toString(), domain);
        assertEquals(0, again.status(), again.stderr());
        assertEquals("vfio-tune: " + domain + ": already fits this host\n", again.stdout(), "libvirt's re-serialisation is a fixed point of the plan");
    }

    private static Path fixture(String host, String directory) throws IOException {
        return HostFixture.load(ROOT.resolve("src/hosts").resolve(host)).materialize(Files.createDirectories(work.resolve(directory)));
    }

    private static void define(String goldenCase, String name) throws IOException {
        String input = Files.readString(ROOT.resolve("src/golden").resolve(goldenCase).resolve("input.xml"))
                .replace("<name>" + goldenCase + "</name>", "<name>" + name + "</name>").replaceAll("  <uuid>.*</uuid>\n", "");
        Libvirt.Result defined = virsh("define", Files.writeString(work.resolve(name + ".xml"), input).toString());
        assertTrue(defined.ok(), defined.stderr());
    }

    private static String busOf(String argv, String host) {
        Matcher matcher = Pattern.compile("\"host\":\"" + Pattern.quote(host) + "\",\"id\":\"[^\"]+\",\"bus\":\"([^\"]+)\"").matcher(argv);
        return matcher.find() ? matcher.group(1) : "missing";
    }

    private static Libvirt.Result virsh(String... arguments) {
        return Libvirt.run(Stream.concat(Stream.of("virsh", "-c", Libvirt.URI), Arrays.stream(arguments)).toList(), 120);
    }
}
