package io.vfiotune.xml.transforms.grace;

import io.vfiotune.pci.PciBar;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.platform.NvidiaGraceGpu;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.Version;
import io.vfiotune.xml.transforms.layout.BridgeWindow;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The aarch64 {@code virt} machine's high PCIe MMIO window, which holds every 64-bit BAR of
 * the guest, for Grace GPUs whose presented usemem BAR alone can be 256 or 512 GiB. QEMU
 * gives the window 512 GiB; {@code highmem-mmio-size} (QEMU 10.0; a power of two, never less)
 * raises it. Measured with QEMU 10.0's {@code info mtree}: a second {@code -machine
 * highmem-mmio-size=1T} merges into libvirt's {@code -machine} and moves {@code pcie-mmio-high}
 * from 512 GiB at 512 GiB to 1 TiB at 1 TiB.
 *
 * <p>The need is packed as firmware packs bridge windows ({@link BridgeWindow}): libvirt puts
 * each hostdev of a {@code virt} guest on a root port of its own, whose window holds that
 * device's 64-bit BARs, and the host bridge's window holds the root ports' windows.
 */
final class GraceMmioWindow {
    static final long GIB = 1L << 30;
    /** VIRT_HIGH_PCIE_MMIO's size, and the least highmem-mmio-size QEMU takes. */
    static final long VIRT_DEFAULT = 512 * GIB;
    static final Version QEMU_HIGHMEM_MMIO_SIZE = new Version(10, 0, 0);
    /**
     * The first libvirt to render {@code <pcihole64>} of an aarch64 virt guest's pcie-root as
     * {@code highmem-mmio-size}: 11.3 (Debian 13's) has no such string in its QEMU driver, and
     * libvirt's own test suite runs its pci_highmem_mmio_size case from 11.4.
     */
    static final Version LIBVIRT_PCIHOLE64_VIRT = new Version(11, 4, 0);
    static final String PROPERTY = "highmem-mmio-size";
    /**
     * Room for what else has 64-bit BARs: virtio-pci's modern BAR is 16 KiB, and each root port's
     * window a multiple of 1 MiB, so a whole GiB holds hundreds of them. It matters when the GPUs
     * alone fill a power of two exactly (a GB300's 512 GiB usemem BAR fills the default window).
     */
    static final long EMULATED_DEVICES = GIB;
    private static final Pattern QEMU_SIZE = Pattern.compile("([0-9]{1,19}(?:\\.[0-9]{1,19})?)([kmgtpe]?)b?");

    /** A passthrough function and, when it is one, the Grace GPU it is (with the declared device memory applied). */
    record Passthrough(PciFunction function, Optional<NvidiaGraceGpu> grace) {
        /** The Grace GPU whose fake BARs the guest gets: only nvgrace_gpu_vfio_pci presents them, plain vfio-pci passes the physical ones. */
        Optional<NvidiaGraceGpu> presenting() {
            return grace.filter(gpu -> gpu.binding() == NvidiaGraceGpu.Binding.NVGRACE);
        }
    }

    private GraceMmioWindow() {
    }

    static void plan(DomainView domain, List<Passthrough> devices, Version libvirt, Version qemu, List<DomainEdit> edits, List<Finding> findings) {
        String subject = "domain " + domain.name();
        Optional<String> userWindow = userWindow(domain.qemuCommandlineArguments());
        OptionalLong hole = domain.pcieRootHole64KiB();
        OptionalLong previous = Optional.ofNullable(domain.previouslyGeneratedMachineProperties().get(PROPERTY)).map(GraceMmioWindow::bytes).orElse(OptionalLong.empty());
        List<NvidiaGraceGpu> undeclared = devices.stream().flatMap(device -> device.presenting().stream()).filter(gpu -> gpu.presented().isEmpty()).toList();
        Optional<Need> need = undeclared.isEmpty() ? need(devices) : Optional.empty();
        String needs = need.map(Need::describe).orElse("the passthrough devices' 64-bit MMIO need is not known");

        if (userWindow.isPresent()) {
            judgeUserWindow(subject, userWindow.get(), need, needs, qemu, findings);
            return;
        }
        if (hole.isPresent()) {
            long holeBytes = hole.getAsLong() << 10;
            if (libvirt.compareTo(LIBVIRT_PCIHOLE64_VIRT) < 0) {
                findings.add(Finding.error("GRACE-MMIO64", subject, "the pcie-root controller's <pcihole64> sizes a virt guest's window only from libvirt 11.4, and this"
                        + " is libvirt " + libvirt + ", which refuses it for this machine; remove it (vfio-tune then sizes the window with -machine " + PROPERTY + ")"));
            } else if (need.isPresent() && need.get().bytes() > holeBytes) {
                long window = Math.max(VIRT_DEFAULT, BridgeWindow.powerOfTwoAtLeast(need.get().bytes()));
                edits.add(new DomainEdit.SetPcieRootHole64(window >> 10));
                findings.add(Finding.warning("GRACE-MMIO64", subject, needs + ", more than the <pcihole64 unit='KiB'>" + hole.getAsLong()
                        + "</pcihole64> the pcie-root controller has: raised to " + (window >> 10) + " KiB (" + text(window) + ")"));
            } else {
                findings.add(Finding.info("GRACE-MMIO64", subject, needs + "; the pcie-root controller's <pcihole64 unit='KiB'>" + hole.getAsLong() + "</pcihole64> is kept"));
            }
            return;
        }
        if (!undeclared.isEmpty()) {
            findings.add(Finding.warning("GRACE-MMIO64-UNKNOWN", subject, "the device memory of " + String.join(", ", undeclared.stream().map(gpu -> gpu.address().toString()).toList())
                    + " is not declared, so the guest's 64-bit MMIO window cannot be sized: the virt machine gives 512 GiB, which one GB300 or three GH200 already exceed,"
                    + " and a BAR left out of it leaves the guest without that GPU's memory; declare it in vfio-tune.properties, e.g. grace-device-memory="
                    + undeclared.get(0).address() + "=" + datasheetMemory(undeclared.get(0)) + " for a " + datasheetMemory(undeclared.get(0)).replace("G", " GB ")
                    + undeclared.get(0).model() + " (the size nvidia-smi shows as FB memory while the host driver has the GPU, or nvidia,gpu-mem-size in the ACPI tables)"
                    + (previous.isPresent() ? "; the window an earlier plan set, " + text(previous.getAsLong()) + ", is kept" : "")));
        }
        long window = need.filter(known -> known.bytes() > VIRT_DEFAULT).map(known -> BridgeWindow.powerOfTwoAtLeast(known.bytes())).orElse(0L);
        if (previous.isPresent() && previous.getAsLong() > window) {
            // guest hardware: a re-plan or a restore never narrows what an earlier plan gave the guest
            window = previous.getAsLong();
        }
        if (window == 0) {
            need.ifPresent(known -> findings.add(Finding.info("GRACE-MMIO64", subject, needs + "; the virt machine's default 512 GiB holds them")));
            return;
        }
        if (qemu.compareTo(QEMU_HIGHMEM_MMIO_SIZE) < 0) {
            findings.add(Finding.error("GRACE-MMIO64", subject, needs + ", more than the virt machine's fixed 512 GiB in QEMU " + qemu + ", which has no " + PROPERTY
                    + " (10.0 has): the BARs left out would leave the guest without those GPUs' memory; upgrade QEMU to 10.0 or later, or pass fewer GPUs to this guest"));
            return;
        }
        String why = need.filter(known -> known.bytes() > VIRT_DEFAULT).isPresent() ? needs + ", more than the virt machine's default 512 GiB"
                : needs + "; the window an earlier plan set is kept (guest hardware)";
        if (libvirt.compareTo(LIBVIRT_PCIHOLE64_VIRT) >= 0) {
            edits.add(new DomainEdit.SetPcieRootHole64(window >> 10));
            findings.add(Finding.info("GRACE-MMIO64", subject, why + ": <pcihole64 unit='KiB'>" + (window >> 10) + "</pcihole64> in the pcie-root controller ("
                    + text(window) + ", the power of two that holds them; libvirt " + libvirt + " renders it as " + PROPERTY + ")"));
            return;
        }
        edits.add(new DomainEdit.SetMachineProperty(PROPERTY, text(window)));
        findings.add(Finding.info("GRACE-MMIO64", subject, why + ": -machine " + PROPERTY + "=" + text(window)
                + " (the power of two that holds them) through <qemu:commandline>, since libvirt " + libvirt + " predates <pcihole64> on virt (11.4)"));
    }

    /** What the BARs need, and how it was found, for messages. */
    private record Need(long bytes, String describe) {
    }

    private static Optional<Need> need(List<Passthrough> devices) {
        List<BridgeWindow> ports = new ArrayList<>();
        List<String> described = new ArrayList<>();
        for (Passthrough device : devices) {
            List<PciBar> bars = device.presenting().flatMap(NvidiaGraceGpu::guestBars64)
                    .orElseGet(() -> device.function().bars().stream().filter(bar -> bar.kind() == PciBar.Kind.MEMORY_64 && bar.size() > 0).toList());
            if (bars.isEmpty()) {
                continue;
            }
            BridgeWindow port = BridgeWindow.pack(bars.stream().map(bar -> BridgeWindow.bar(bar.size())).toList());
            ports.add(port);
            described.add(BridgeWindow.size(port.length()) + " for " + device.function().address());
        }
        if (ports.isEmpty()) {
            return Optional.empty();
        }
        long bytes = BridgeWindow.pack(ports).length() + EMULATED_DEVICES;
        return Optional.of(new Need(bytes, "the passthrough devices need " + BridgeWindow.size(bytes) + " of 64-bit MMIO with 1 GiB for emulated devices (root port windows: "
                + String.join(", ", described) + ")"));
    }

    /** The definition's own -machine highmem-mmio-size: QEMU refuses what it cannot take, so vfio-tune says so first; never overridden. */
    private static void judgeUserWindow(String subject, String written, Optional<Need> need, String needs, Version qemu, List<Finding> findings) {
        String own = "the definition's own " + PROPERTY + "=" + written;
        if (qemu.compareTo(QEMU_HIGHMEM_MMIO_SIZE) < 0) {
            findings.add(Finding.error("GRACE-MMIO64", subject, own + " is a QEMU 10.0 machine property, and this is QEMU " + qemu + ", which would refuse to start; remove it"));
            return;
        }
        OptionalLong bytes = bytes(written);
        if (bytes.isEmpty()) {
            findings.add(Finding.warning("GRACE-MMIO64", subject, needs + "; " + own + " is not a size vfio-tune reads, so it is kept as written and not checked"));
            return;
        }
        long suggestion = Math.max(VIRT_DEFAULT, need.map(known -> BridgeWindow.powerOfTwoAtLeast(known.bytes())).orElse(VIRT_DEFAULT));
        if (Long.bitCount(bytes.getAsLong()) != 1 || bytes.getAsLong() < VIRT_DEFAULT) {
            findings.add(Finding.error("GRACE-MMIO64", subject, own + " is not a power of two of at least 512G, which QEMU refuses at start; use " + text(suggestion)));
        } else if (need.isPresent() && bytes.getAsLong() < need.get().bytes()) {
            findings.add(Finding.error("GRACE-MMIO64", subject, needs + ", and " + own + " is smaller: a BAR left out leaves the guest without that GPU's memory;"
                    + " raise it to " + text(suggestion) + " or remove it and let vfio-tune size it"));
        } else {
            findings.add(Finding.info("GRACE-MMIO64", subject, needs + "; " + own + " is kept"));
        }
    }

    /** An example size for the message only, never planned with: the model's HBM as NVIDIA's datasheets give it. */
    private static String datasheetMemory(NvidiaGraceGpu gpu) {
        return switch (gpu.model()) {
            case "GB200" -> "186G";
            case "GB300" -> "288G";
            default -> "96G";
        };
    }

    /** The highmem-mmio-size a user's {@code -machine} argument sets, as written, whatever its syntax. */
    static Optional<String> userWindow(List<String> arguments) {
        Optional<String> found = Optional.empty();
        for (int i = 1; i < arguments.size(); i++) {
            String option = arguments.get(i - 1);
            if (option.equals("-machine") || option.equals("--machine") || option.equals("-M")) {
                for (String part : arguments.get(i).split(",")) {
                    if (part.startsWith(PROPERTY + "=")) {
                        // QEMU merges -machine options, the last one winning
                        found = Optional.of(part.substring(PROPERTY.length() + 1));
                    }
                }
            }
        }
        return found;
    }

    /**
     * QEMU's size syntax (qemu_strtosz): a decimal number, fractions allowed, with an optional binary
     * unit K, M, G, T, P or E (and an optional B), or a hexadecimal number without a unit; empty when
     * the text is none of these or not a whole number of bytes below 2^63.
     */
    static OptionalLong bytes(String text) {
        String trimmed = text.trim().toLowerCase(Locale.ROOT);
        if (trimmed.matches("0x[0-9a-f]{1,15}")) {
            return OptionalLong.of(Long.parseLong(trimmed.substring(2), 16));
        }
        Matcher matcher = QEMU_SIZE.matcher(trimmed);
        if (!matcher.matches()) {
            return OptionalLong.empty();
        }
        int shift = matcher.group(2).isEmpty() ? 0 : ("kmgtpe".indexOf(matcher.group(2).charAt(0)) + 1) * 10;
        java.math.BigDecimal value = new java.math.BigDecimal(matcher.group(1)).multiply(java.math.BigDecimal.valueOf(2).pow(shift));
        try {
            return OptionalLong.of(value.toBigIntegerExact().longValueExact());
        } catch (ArithmeticException e) {
            return OptionalLong.empty();
        }
    }

    /** 1T, 2T, 768G: what QEMU's size syntax takes, in the largest unit that divides it. */
    static String text(long bytes) {
        long tib = 1024 * GIB;
        return bytes % tib == 0 ? bytes / tib + "T" : String.format(Locale.ROOT, "%dG", bytes / GIB);
    }
}
