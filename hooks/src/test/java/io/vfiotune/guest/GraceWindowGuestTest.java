package io.vfiotune.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciBar;
import io.vfiotune.platform.NvidiaGraceGpu;
import io.vfiotune.probe.facts.ConfiguredHostFacts;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.facts.NativeSystem;
import io.vfiotune.probe.facts.QemuVersionProbe;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.probe.sysfs.SysfsHostTopology;
import io.vfiotune.probe.sysfs.SysfsRoot;
import io.vfiotune.stack.Stack;
import io.vfiotune.stack.Stacks;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Grace guest's 64-bit window, booted: {@code grace-gb200}'s input with each GPU on a root
 * port of its own (as libvirt places a hostdev of a virt guest), planned by vfio-tune for the
 * case's host (two GB200 declared at 186 GB: each presents usemem 256G at BAR4, and the guest
 * gets the physical 128G BAR2 and 16M BAR0). Every guest BAR of each GPU becomes a
 * {@code pci-testdev} function in the GPU's slot with a 64-bit prefetchable BAR of that size,
 * booted through AAVMF on QEMU 10.0 and 11.1 (TCG). With the plan's {@code -machine highmem-mmio-size=1T}
 * every such BAR must be assigned; the same plan without it (the virt machine's 512 GiB) must
 * leave one out, or the check proves nothing. The Grace nodes and initiators are left out of the
 * booted guest: they name the GPUs' aliases, and {@code GraceInitiatorQemuTest} boots them.
 */
class GraceWindowGuestTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final String CASE = "grace-gb200";
    private static final Pattern GRACE_PAIR = Pattern.compile("\\s*<qemu:arg value='-(?:numa|object)'/>\\s*<qemu:arg value='(?:node,nodeid=|acpi-generic-initiator,)[^']*'/>");
    private static final Pattern WINDOW_PAIR = Pattern.compile("\\s*<qemu:arg value='-machine'/>\\s*<qemu:arg value='highmem-mmio-size=1T'/>");
    /** AAVMF under TCG on a loaded 2-core machine enumerates and sizes six BARs before Linux starts. */
    private static final Duration TIME_LIMIT = BootedGuest.TIME_LIMIT.multipliedBy(5);

    @TempDir
    Path work;

    /** Every stack whose QEMU has highmem-mmio-size (10.0 and later), with and without the window. */
    static Stream<Arguments> windows() {
        List<Stack> stacks = Stacks.all().stream().filter(stack -> stack.qemuVersion().atLeast(10, 0)).toList();
        Assumptions.assumeTrue(!stacks.isEmpty(), "no stack of -D" + Stacks.SELECTION_PROPERTY + " has a QEMU with highmem-mmio-size (10.0)");
        return stacks.stream().flatMap(stack -> Stream.of(Arguments.of(stack, "with"), Arguments.of(stack, "without")));
    }

    @ParameterizedTest(name = "on {0}, {1} highmem-mmio-size")
    @MethodSource("windows")
    void everyGpuBarIsAssignedOnlyWithTheWindow(Stack stack, String window) throws IOException {
        boolean withWindow = window.equals("with");
        Path golden = ROOT.resolve("src/golden").resolve(CASE);
        Path sysfs = HostFixture.load(golden.resolve("host")).materialize(Files.createDirectory(work.resolve("sysfs")));

        String input = Files.readString(golden.resolve("input.xml"))
                .replaceFirst("(<address domain='0x0008' bus='0x01' slot='0x00' function='0x0'/>\\s*</source>)",
                        "$1\n      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>")
                .replaceFirst("(<address domain='0x0009' bus='0x01' slot='0x00' function='0x0'/>\\s*</source>)",
                        "$1\n      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>")
                .replace("  </devices>", "    <controller type='pci' index='1' model='pcie-root-port'/>\n    <controller type='pci' index='2' model='pcie-root-port'/>\n  </devices>");
        CliRun.Result planned = CliRun.run(input.getBytes(StandardCharsets.UTF_8), "plan", "--sysfs-root", sysfs.toString(), "-");
        assertEquals(0, planned.status(), planned.stderr());
        String plan = planned.stdout();
        assertTrue(WINDOW_PAIR.matcher(plan).find(), "the plan raises the window to 1 TiB:\n" + plan + planned.stderr());
        String booted = GRACE_PAIR.matcher(plan).replaceAll("");
        if (!withWindow) {
            booted = WINDOW_PAIR.matcher(booted).replaceFirst("");
        }
        assertEquals(withWindow, WINDOW_PAIR.matcher(booted).find(), "the -machine pair " + (withWindow ? "stays" : "is gone"));

        // What the guest sees of each GPU: the presented BARs for the declared memory, the physical ones elsewhere.
        SysfsHostTopology host = new SysfsHostTopology(new SysfsRoot(sysfs), new ConfiguredHostFacts(
                HostSettings.load(Map.of(HostSettings.SYSFS_ROOT, sysfs.toString()), Map.of(HostSettings.CONFIG_ENVIRONMENT_VARIABLE, "")), NativeSystem.create(), () -> {
                    throw new IllegalStateException("not needed");
                }, new QemuVersionProbe(Optional.empty())));
        Map<String, Long> declared = host.facts().graceDeviceMemory();
        GuestDomain domain = GuestDomain.fromPlanWithBars(booted, address -> NvidiaGraceGpu.of(host.function(PciAddress.parse(address)).orElseThrow())
                .orElseThrow().withDeclaredMemory(declared).guestBars64().orElseThrow(() -> new AssertionError("no declared memory for " + address)));
        List<BarStandIn> testdevs = domain.barStandIns();
        assertEquals(List.of(256L << 30, 128L << 30, 16L << 20, 256L << 30, 128L << 30, 16L << 20), testdevs.stream().map(BarStandIn::membar).toList(),
                "each GPU's usemem, physical BAR2 and BAR0, largest first");
        assertTrue(domain.keepsFirmware(), "an aarch64 guest with ACPI boots through its UEFI loader");

        BootedGuest.Boot boot = BootedGuest.boot(stack, domain, TIME_LIMIT);
        GuestReport guest = boot.report();
        assertEquals("efi", guest.firmware(), "the guest booted through AAVMF:\n" + boot.consoleLog());
        List<GuestReport.Device> found = guest.devices().stream()
                .filter(device -> (BarStandIn.VENDOR + ":" + BarStandIn.DEVICE).equals(device.vendor() + ":" + device.device())).toList();
        assertEquals(testdevs.size(), found.size(), "every stand-in is in the guest:\n" + guest.render());
        List<String> rows = new ArrayList<>();
        List<Long> assigned = new ArrayList<>();
        List<Long> missing = new ArrayList<>();
        for (GuestReport.Device device : found) {
            Optional<GuestReport.Resource> bar = guest.resource(device.address(), BarStandIn.MEMBAR_INDEX);
            boolean ok = bar.isPresent() && bar.get().assigned() && bar.get().isPrefetchable64() && Long.remainderUnsigned(bar.get().start(), bar.get().size()) == 0;
            long size = bar.map(GuestReport.Resource::size).orElse(0L);
            // an unassigned BAR reads back as zero: its size is the stand-in's, known from the ordering only when assigned
            (ok ? assigned : missing).add(size);
            rows.add("| " + device.address() + " | " + bar.map(resource -> String.format("0x%x-0x%x", resource.start(), resource.end())).orElse("(none)") + " | "
                    + (ok ? "yes" : "**NO**") + " |");
        }
        String table = "## " + CASE + " on " + stack + ", AAVMF, " + (withWindow ? "with highmem-mmio-size=1T" : "without highmem-mmio-size (512 GiB)") + "\n\n"
                + "Guest kernel " + guest.kernel() + ", " + boot.elapsed().toMillis() + " ms from create to gone.\n\n| guest function | BAR 2 | assigned |\n|---|---|---|\n"
                + String.join("\n", rows) + "\n\nGuest kernel on PCI resources:\n\n" + String.join("\n", guest.kernelLog().stream().map(line -> "    " + line).toList()) + "\n";
        Files.writeString(Files.createDirectories(Path.of("target")).resolve("grace-window-guest-" + stack.id() + "-" + window + ".md"), table);
        System.out.println(table);
        if (withWindow) {
            assertTrue(missing.isEmpty(), "with highmem-mmio-size=1T every GPU BAR is assigned:\n" + table);
            assertEquals(List.of(16L << 20, 16L << 20, 128L << 30, 128L << 30, 256L << 30, 256L << 30), assigned.stream().sorted().toList(), table);
        } else {
            assertFalse(missing.isEmpty(), "the virt machine's default 512 GiB must leave a BAR out, or the check proves nothing:\n" + table);
        }
    }
}
