package io.vfiotune.guest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.Libvirt;
import io.vfiotune.stack.Stack;
import io.vfiotune.stack.Stacks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.zip.GZIPInputStream;

/**
 * The booted-guest harness's parts without booting: the initramfs as a real cpio
 * reads it, the domain rewrite on golden outputs, and the report parser.
 */
class BootedGuestHarnessSelfTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));

    @TempDir
    Path work;

    /** busybox's own cpio (the amd64 guest's, which runs on this amd64 machine) must list and unpack what the kernel will. */
    @Test
    void initramfsIsANewcArchiveBusyboxCpioReads() throws IOException {
        Path busybox = GuestParts.busybox("x86_64");
        byte[] busyboxBytes = Files.readAllBytes(busybox);
        Path archive = Files.write(work.resolve("initrd.cpio"), gunzip(GuestInit.initramfs(busyboxBytes)));

        Libvirt.Result listing = Libvirt.run(List.of("sh", "-c", "'" + busybox + "' cpio -t -v < '" + archive + "'"), 60);
        assertEquals(0, listing.status(), listing.stderr());
        List<String> lines = listing.stdout().lines().toList();
        assertEquals(7, lines.size(), "bin, dev, proc, sys, dev/console, bin/busybox, init: " + listing.stdout());
        assertTrue(lines.stream().anyMatch(line -> line.startsWith("crw-------") && line.endsWith(" dev/console")), listing.stdout());
        assertTrue(lines.stream().anyMatch(line -> line.startsWith("-rwxr-xr-x") && line.endsWith(" init")), listing.stdout());
        assertTrue(lines.stream().anyMatch(line -> line.startsWith("drwxr-xr-x") && line.endsWith(" proc")), listing.stdout());

        Path unpacked = Files.createDirectory(work.resolve("unpacked"));
        Libvirt.Result extract = Libvirt.run(List.of("sh", "-c", "cd '" + unpacked + "' && '" + busybox + "' cpio -i -d < '" + archive + "'"), 60);
        assertEquals(0, extract.status(), extract.stderr());
        // The console's device number in hex, major:minor (the tests run as root, so cpio made the node).
        Libvirt.Result console = Libvirt.run(List.of("stat", "-c", "%F %t:%T", unpacked.resolve("dev/console").toString()), 30);
        assertEquals("character special file 5:1", console.stdout().strip(), console.stderr());
        assertArrayEquals(GuestInit.script(), Files.readAllBytes(unpacked.resolve("init")));
        assertArrayEquals(busyboxBytes, Files.readAllBytes(unpacked.resolve("bin/busybox")));
        assertTrue(Files.isExecutable(unpacked.resolve("init")));
    }

    @Test
    void initramfsRefusesRepeatedNames() {
        Initramfs initramfs = new Initramfs().directory("/bin");
        assertThrows(IllegalArgumentException.class, () -> initramfs.directory("bin"));
    }

    /** Every hostdev becomes a stand-in with its alias; the overrides for vfio properties go; the rest stays. */
    @Test
    void hostdevsBecomeStandInsAndOverridesGo() throws IOException {
        String plan = Files.readString(ROOT.resolve("src/golden/clique-dgx-two-switches/expected.xml"));
        GuestDomain domain = GuestDomain.fromPlan(plan);
        assertEquals(8, domain.standIns().size());
        StandIn first = domain.standIns().get(0);
        assertEquals("0000:03:00.0", first.hostAddress());
        assertEquals(Optional.of("ua-vt-0000-03-00-0"), first.alias());
        assertEquals(Optional.empty(), first.guestAddress(), "the plan leaves this one's guest address to libvirt");

        String xml = domain.bootable("vt-guest-test", "00000000-0000-0000-0000-000000000001", "/k", "/i", "/log");
        assertFalse(xml.contains("hostdev"), xml);
        assertFalse(xml.contains("override"), xml);
        assertFalse(xml.contains("vt:tune"), "an installed hook must see an unannotated domain: " + xml);
        assertEquals(8, count(xml, "<rng model=\"virtio\">"), xml);
        assertTrue(xml.contains("<alias name=\"ua-vt-0000-46-00-0\"/>"), xml);
        assertTrue(xml.contains("<cmdline>console=ttyS0 panic=-1 quiet</cmdline>"), xml);
        assertTrue(xml.contains("<on_reboot>destroy</on_reboot>"), xml);
        assertTrue(xml.contains("<acpi/>"), "an x86 guest needs ACPI to power off: " + xml);
    }

    @Test
    void setDevicePairsGoAndOtherArgumentsStay() throws IOException {
        String plan = Files.readString(ROOT.resolve("src/golden/clique-libvirt7-set-form/expected.xml"));
        String xml = GuestDomain.fromPlan(plan).bootable("vt-guest-test", "00000000-0000-0000-0000-000000000001", "/k", "/i", "/log");
        assertFalse(xml.contains("commandline"), "the only arguments were a -set device pair: " + xml);

        String withOther = plan.replace("<qemu:arg value='-set'/>", "<qemu:arg value='-msg'/><qemu:arg value='timestamp=on'/><qemu:arg value='-set'/>");
        String kept = GuestDomain.fromPlan(withOther).bootable("vt-guest-test", "00000000-0000-0000-0000-000000000001", "/k", "/i", "/log");
        assertTrue(kept.contains("timestamp=on") && !kept.contains("device.ua-vt"), kept);
    }

    /** The PHBs, their nodes, the cells and the guest addresses of the plan reach the booted domain unchanged. */
    @Test
    void plannedLayoutStaysAndTheDomainIsValidForLibvirt() throws IOException {
        String plan = Files.readString(ROOT.resolve("src/golden/spapr-two-groups-numa-cells/expected.xml"));
        GuestDomain domain = GuestDomain.fromPlan(plan);
        assertEquals(16, domain.standIns().size());
        assertEquals("0000:02:08.0", domain.standIns().get(15).guestAddress().orElseThrow().toString());
        assertTrue(domain.hasVcpusAfterCpulessCell());
        assertTrue(GuestDomain.fromPlan(Files.readString(ROOT.resolve("src/golden/spapr-numatune-memnode-cells/expected.xml")))
                .bootable("vt-guest-test", "00000000-0000-0000-0000-000000000002", "/k", "/i", "/log").contains("<node>1</node>"), "a planned PHB node stays");
        assertEquals("hvc0", domain.consoleDevice());

        String xml = domain.bootable("vt-guest-test", "00000000-0000-0000-0000-000000000001", "/k", "/i", "/log");
        assertEquals(2, count(xml, "<model name=\"spapr-pci-host-bridge\"/>"), xml);
        assertTrue(xml.contains("<cell cpus=\"1\" id=\"8\""), xml);
        assertTrue(xml.contains("<address bus=\"0x02\" domain=\"0x0000\" function=\"0x0\" slot=\"0x08\" type=\"pci\"/>"), xml);
        assertTrue(xml.startsWith("<domain type=\"qemu\">"), xml);

        Stack stack = Stacks.any();
        Path staged = stack.stage("domain.xml", xml.getBytes(StandardCharsets.UTF_8));
        Libvirt.Result valid = stack.validate(staged);
        Files.delete(staged);
        assertEquals(0, valid.status(), valid.stderr() + "\n" + xml);
    }

    @Test
    void reportIsParsedBetweenTheMarkersOnly() {
        String log = "SLOF junk\r\n" + GuestInit.BEGIN + "\r\nkernel ppc64le 6.1.0\r\nuptime 3.50\r\nnodes online=0-1 possible=0-1\r\n"
                + "bus 0001:00 bridge=/sys/devices/pci0001:00 of_node=/sys/firmware/devicetree/base/pci@800000020000001\r\n"
                + "[    3.1] a kernel message in between\r\n"
                + "pci 0001:00:01.0 vendor=0x1af4 device=0x1005 class=0x00ff00 numa_node=1 path=/sys/devices/pci0001:00/0001:00:01.0 of_node=-\r\n"
                + GuestInit.END + "\r\npci 0009:00:01.0 vendor=0x1 device=0x2 class=0x3 numa_node=0 path=/x of_node=-\r\n";
        GuestReport report = GuestReport.parse(log);
        assertEquals("0-1", report.nodesOnline());
        assertEquals("3.50", report.uptime());
        assertEquals(List.of("0001"), report.domains());
        assertTrue(report.bus("0001:00").orElseThrow().isRoot());
        assertEquals(1, report.devices().size(), "nothing after END counts");
        GuestReport.Device device = report.device("0001:00:01.0").orElseThrow();
        assertEquals("pci0001:00", device.hostBridge());
        assertEquals(0, device.bridgesAbove());
        assertEquals(1, device.node().orElseThrow());

        IllegalArgumentException incomplete = assertThrows(IllegalArgumentException.class, () -> GuestReport.parse(GuestInit.BEGIN + "\nkernel x\n"));
        assertTrue(incomplete.getMessage().contains("END"), incomplete.getMessage());
    }

    @Test
    void resourceLinesFirmwareAndKernelLogAreParsed() {
        String log = GuestInit.BEGIN + "\nkernel x86_64 6.1.0\n"
                + "pci 0000:ff:00.0 vendor=0x1b36 device=0x0005 class=0x00ff00 numa_node=0 path=/sys/devices/pci0000:fc/0000:fc:02.0/0000:ff:00.0 of_node=-\n"
                + "res 0000:ff:00.0 0 0x00000000c0400000 0x00000000c0400fff 0x0000000000040200\n"
                + "res 0000:ff:00.0 2 0x0000006000000000 0x0000006fffffffff 0x000000000014220c\n"
                + "res 0000:ff:00.0 3 junk\n"
                + "firmware efi\n"
                + "klog [    2.1] pci 0000:ff:00.1: BAR 2 [mem size 0x1000000000 64bit pref]: can't assign; no space\n" + GuestInit.END + "\n";
        GuestReport report = GuestReport.parse(log);
        assertEquals(1, report.devices().size());
        assertEquals(2, report.resources().size(), "a malformed res line is skipped");
        GuestReport.Resource bar2 = report.resource("0000:ff:00.0", 2).orElseThrow();
        assertTrue(bar2.assigned() && bar2.isPrefetchable64());
        assertEquals(64L << 30, bar2.size());
        assertFalse(report.resource("0000:ff:00.0", 0).orElseThrow().isPrefetchable64());
        assertEquals("efi", report.firmware());
        assertEquals(List.of("[    2.1] pci 0000:ff:00.1: BAR 2 [mem size 0x1000000000 64bit pref]: can't assign; no space"), report.kernelLog());
        assertEquals("-", GuestReport.parse(GuestInit.BEGIN + "\n" + GuestInit.END + "\n").firmware());
    }

    /** Each 64-bit prefetchable host BAR becomes a pci-testdev behind the planned port; the firmware and the -fw_cfg item stay. */
    @Test
    void barStandInsKeepTheSlotAndTheFirmware() throws IOException {
        String plan = Files.readString(ROOT.resolve("src/golden/topology-asus-ovmf-mmio64/expected.xml"));
        java.util.Map<String, List<io.vfiotune.pci.PciBar>> bars = java.util.Map.of(
                "0000:01:00.0", List.of(new io.vfiotune.pci.PciBar(3, io.vfiotune.pci.PciBar.Kind.MEMORY_64, true, 32L << 20),
                        new io.vfiotune.pci.PciBar(1, io.vfiotune.pci.PciBar.Kind.MEMORY_64, true, 64L << 30)),
                "0000:21:00.0", List.of(new io.vfiotune.pci.PciBar(0, io.vfiotune.pci.PciBar.Kind.MEMORY_64, true, 32L << 20)));
        GuestDomain domain = GuestDomain.fromPlanWithBars(plan, host -> bars.getOrDefault(host, List.of()));
        assertEquals(6, domain.standIns().size());
        List<String> devices = domain.barStandIns().stream().map(BarStandIn::qemuDevice).toList();
        assertEquals(List.of(
                "{\"driver\":\"pci-testdev\",\"bus\":\"pci.2\",\"addr\":\"0x0.0x0\",\"multifunction\":true,\"membar\":68719476736}",
                "{\"driver\":\"pci-testdev\",\"bus\":\"pci.2\",\"addr\":\"0x0.0x1\"}",
                "{\"driver\":\"pci-testdev\",\"bus\":\"pci.2\",\"addr\":\"0x0.0x2\",\"membar\":33554432}",
                "{\"driver\":\"pci-testdev\",\"bus\":\"pci.3\",\"addr\":\"0x0.0x0\",\"multifunction\":true,\"membar\":33554432}",
                "{\"driver\":\"pci-testdev\",\"bus\":\"pci.3\",\"addr\":\"0x0.0x1\"}",
                "{\"driver\":\"pci-testdev\",\"bus\":\"pci.4\",\"addr\":\"0x0.0x0\",\"multifunction\":true}",
                "{\"driver\":\"pci-testdev\",\"bus\":\"pci.4\",\"addr\":\"0x0.0x1\"}"), devices);
        assertTrue(domain.keepsFirmware());

        String xml = domain.bootable("vt-guest-test", "00000000-0000-0000-0000-000000000001", "/k", "/i", "/log");
        assertFalse(xml.contains("hostdev") || xml.contains("<rng"), xml);
        assertTrue(xml.contains("<loader readonly=\"yes\" type=\"pflash\">/usr/share/OVMF/OVMF_CODE_4M.fd</loader>"), xml);
        assertTrue(xml.contains("<nvram template=\"/usr/share/OVMF/OVMF_VARS_4M.fd\"/>"), xml);
        assertTrue(xml.contains("<qemu:arg value=\"-fw_cfg\"/>") && xml.contains("name=opt/ovmf/X-PciMmio64Mb,string=262144"), xml);
        assertTrue(xml.contains("<controller model=\"none\" type=\"usb\"/>") && xml.contains("<memballoon model=\"none\"/>"), xml);
        assertEquals(7, count(xml, "<qemu:arg value=\"-device\"/>"), xml);
        assertFalse(GuestDomain.fromPlan(plan).bootable("vt-guest-test", "00000000-0000-0000-0000-000000000001", "/k", "/i", "/log").contains("loader"),
                "the virtio-rng stand-ins boot without firmware, as before");
    }

    private static int count(String text, String part) {
        return text.split(java.util.regex.Pattern.quote(part), -1).length - 1;
    }

    private static byte[] gunzip(byte[] compressed) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed))) {
            return in.readAllBytes();
        }
    }
}
