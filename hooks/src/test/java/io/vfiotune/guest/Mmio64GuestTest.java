package io.vfiotune.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciBar;
import io.vfiotune.probe.facts.ConfiguredHostFacts;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.facts.NativeSystem;
import io.vfiotune.probe.facts.QemuVersionProbe;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.probe.sysfs.SysfsHostTopology;
import io.vfiotune.probe.sysfs.SysfsRoot;
import io.vfiotune.stack.Stack;
import io.vfiotune.stack.Stacks;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The OVMF guest's 64-bit MMIO window, booted: {@code topology-asus-ovmf-mmio64}'s plan
 * (two RTX 6000 Ada, 64 GiB BAR1 + 32 MiB BAR3 each, and a ConnectX-7, each on its own
 * root port below a pcie-expander-bus) with every host function a {@code pci-testdev}
 * whose 64-bit prefetchable BAR 2 has the host BAR's size (from the case's host
 * fixture, {@link GuestDomain#fromPlanWithBars}), booted through the plan's OVMF with
 * QEMU's default 40 address bits. With the plan's {@code -fw_cfg
 * name=opt/ovmf/X-PciMmio64Mb} every such BAR must be assigned in the guest; the same
 * plan without that pair must leave at least one out ("no space"), or the check proves nothing.
 */
class Mmio64GuestTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final String CASE = "topology-asus-ovmf-mmio64";
    private static final Pattern FW_CFG_PAIR = Pattern.compile("\\s*<qemu:arg value='-fw_cfg'/>\\s*<qemu:arg value='name=opt/ovmf/X-PciMmio64Mb,string=(\\d+)'/>");
    /** OVMF under TCG on a loaded 2-core machine: firmware start, PCI enumeration and the fw_cfg kernel load come before Linux. */
    private static final Duration TIME_LIMIT = BootedGuest.TIME_LIMIT.multipliedBy(5);

    @TempDir
    Path work;

    static Stream<Arguments> cases() {
        return Stacks.all().stream().flatMap(stack -> Stream.of(Arguments.of(stack, "with"), Arguments.of(stack, "without")));
    }

    record Row(BarStandIn testdev, TopologyGuestTest.GuestPlace place, GuestReport.Device device, Optional<GuestReport.Resource> bar2) {
        boolean assigned() {
            return bar2.isPresent() && bar2.get().assigned() && bar2.get().size() == testdev.membar() && bar2.get().isPrefetchable64()
                    && Long.remainderUnsigned(bar2.get().start(), testdev.membar()) == 0;
        }
    }

    @ParameterizedTest(name = "{0}, {1} X-PciMmio64Mb")
    @MethodSource("cases")
    void everyBarIsAssignedOnlyWithTheWindow(Stack stack, String fwCfg) throws IOException {
        boolean withWindow = fwCfg.equals("with");
        Path golden = ROOT.resolve("src/golden").resolve(CASE);
        String plan = Files.readString(golden.resolve("expected.xml"));
        Matcher pair = FW_CFG_PAIR.matcher(plan);
        assertTrue(pair.find(), "the plan passes X-PciMmio64Mb through <qemu:commandline>:\n" + plan);
        String window = pair.group(1);
        assertFalse(pair.find(), "one X-PciMmio64Mb pair");
        String booted = withWindow ? plan : FW_CFG_PAIR.matcher(plan).replaceFirst("");

        // The host BARs the plan was made for, from the case's fixture.
        Path hostDirectory = golden.resolve(Files.readString(golden.resolve("host.ref")).strip()).normalize();
        Path sysfs = HostFixture.load(hostDirectory).materialize(Files.createDirectory(work.resolve("sysfs")));
        SysfsHostTopology host = new SysfsHostTopology(new SysfsRoot(sysfs), new ConfiguredHostFacts(HostSettings.of(Map.of(HostSettings.SYSFS_ROOT, sysfs.toString())),
                NativeSystem.create(), () -> {
                    throw new IllegalStateException("not needed");
                }, new QemuVersionProbe(Optional.empty())));
        GuestDomain domain = GuestDomain.fromPlanWithBars(booted, address -> host.function(PciAddress.parse(address))
                .orElseThrow(() -> new AssertionError("the fixture has no " + address)).bars().stream()
                .filter(bar -> bar.kind() == PciBar.Kind.MEMORY_64 && bar.prefetchable() && bar.size() > 0).toList());
        String xml = domain.bootable("vt-check", "00000000-0000-0000-0000-000000000001", "/k", "/i", "/log");
        assertEquals(withWindow, xml.contains("name=opt/ovmf/X-PciMmio64Mb,string=" + window), "the -fw_cfg pair " + (withWindow ? "stays" : "is gone") + ":\n" + xml);
        assertTrue(xml.contains("<loader readonly=\"yes\" type=\"pflash\">/usr/share/OVMF/OVMF_CODE_4M.fd</loader>"), "the plan's OVMF stays:\n" + xml);
        List<BarStandIn> testdevs = domain.barStandIns();
        assertTrue(testdevs.stream().filter(testdev -> testdev.membar() >= 64L << 30).count() >= 2, "the fixture's two 64 GiB GPU BARs: " + testdevs);

        BootedGuest.Boot boot = BootedGuest.boot(stack, domain, TIME_LIMIT);
        GuestReport guest = boot.report();
        assertEquals("efi", guest.firmware(), "the guest kernel was started by OVMF:\n" + boot.consoleLog());

        Map<Integer, TopologyGuestTest.Controller> controllers = TopologyGuestTest.controllers(booted);
        List<Row> rows = new ArrayList<>();
        for (BarStandIn testdev : testdevs) {
            StandIn at = new StandIn(testdev.standIn().hostAddress(), testdev.standIn().alias(), Optional.of(testdev.guestAddress()));
            TopologyGuestTest.GuestPlace place = TopologyGuestTest.place(at, controllers);
            List<GuestReport.Device> found = guest.devices().stream().filter(place::matches).toList();
            assertEquals(1, found.size(), "exactly one guest function at " + place + " for " + testdev.describe() + ":\n" + guest.render());
            GuestReport.Device device = found.get(0);
            assertEquals(BarStandIn.VENDOR + ":" + BarStandIn.DEVICE, device.vendor() + ":" + device.device(), place + " is a pci-testdev: " + device);
            rows.add(new Row(testdev, place, device, guest.resource(device.address(), BarStandIn.MEMBAR_INDEX)));
        }
        List<Row> withBar = rows.stream().filter(row -> row.testdev().membar() > 0).toList();
        List<Row> unassigned = withBar.stream().filter(row -> !row.assigned()).toList();

        String table = table(stack, withWindow, window, boot, rows);
        Files.writeString(Files.createDirectories(Path.of("target")).resolve("mmio64-guest-" + stack.id() + "-" + fwCfg + ".md"), table);
        System.out.println(table);

        // The kernel's own word for a BAR 2 it could not place: "pci 0000:ff:00.0: BAR 2 [mem size 0x1000000000 64bit pref]: can't assign; no space".
        List<String> refusals = withBar.stream().filter(row -> guest.kernelLog().stream()
                .anyMatch(line -> line.contains(" " + row.device().address() + ": BAR " + BarStandIn.MEMBAR_INDEX) && line.contains("no space"))).map(row -> row.testdev().describe())
                .toList();
        if (withWindow) {
            assertTrue(unassigned.isEmpty(), "with X-PciMmio64Mb=" + window + " every 64-bit BAR is assigned on " + stack + ":\n" + table);
            assertTrue(refusals.isEmpty(), "with X-PciMmio64Mb=" + window + " no stand-in's BAR 2 has 'no space': " + refusals + "\n" + table);
        } else {
            assertFalse(unassigned.isEmpty(), "without X-PciMmio64Mb OVMF's default window must leave a BAR out on " + stack + ", or the check proves nothing:\n" + table);
            assertEquals(unassigned.stream().map(row -> row.testdev().describe()).toList(), refusals,
                    "the guest kernel says 'no space' for exactly the unassigned BARs:\n" + table);
        }
    }

    private static String table(Stack stack, boolean withWindow, String window, BootedGuest.Boot boot, List<Row> rows) {
        StringBuilder text = new StringBuilder();
        text.append("## ").append(CASE).append(" on ").append(stack).append(", OVMF, ").append(withWindow ? "with -fw_cfg X-PciMmio64Mb=" + window : "without X-PciMmio64Mb")
                .append("\n\n");
        text.append("Guest kernel ").append(boot.report().kernel()).append(", firmware ").append(boot.report().firmware()).append(", ").append(boot.elapsed().toMillis())
                .append(" ms from create to gone (").append(boot.creating().toMillis()).append(" ms in virsh create), kernel report at ").append(boot.report().uptime())
                .append(" s.\n\n");
        text.append("| host function / BAR | -device | guest function | membar | guest BAR 2 | assigned |\n|---|---|---|---|---|---|\n");
        for (Row row : rows) {
            BarStandIn testdev = row.testdev();
            String bar = row.bar2().map(resource -> String.format("0x%x-0x%x flags 0x%x", resource.start(), resource.end(), resource.flags())).orElse("(all zero)");
            text.append("| ").append(testdev.describe()).append(" | ").append(testdev.busAlias()).append(String.format(" %x.%x", testdev.guestAddress().slot(),
                    testdev.guestAddress().function())).append(" | ").append(row.device().address()).append(" | ")
                    .append(testdev.membar() == 0 ? "-" : Mmio64Size.of(testdev.membar())).append(" | ").append(testdev.membar() == 0 ? "-" : bar).append(" | ")
                    .append(testdev.membar() == 0 ? "-" : row.assigned() ? "yes" : "**NO**").append(" |\n");
        }
        text.append("\nGuest kernel on PCI resources:\n\n");
        boot.report().kernelLog().forEach(line -> text.append("    ").append(line).append('\n'));
        return text.toString();
    }

    /** Sizes as the tables print them. */
    private static final class Mmio64Size {
        static String of(long bytes) {
            return bytes >= 1L << 30 ? (bytes >> 30) + " GiB" : (bytes >> 20) + " MiB";
        }
    }
}
