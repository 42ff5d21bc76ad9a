package io.vfiotune.platform;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciBar;
import io.vfiotune.pci.PciDvsec;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.spi.Finding;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * An NVIDIA Grace Hopper or Grace Blackwell GPU as the host probe sees it, with the rules of
 * Linux's nvgrace-gpu vfio variant driver (drivers/vfio/pci/nvgrace-gpu/main.c, Linux >= 6.9).
 *
 * <p>The GPU's memory is not a host BAR: the variant driver reads its base and size from ACPI
 * ({@code nvidia,gpu-mem-base-pa}, {@code nvidia,gpu-mem-size}) and presents it to the VMM as fake
 * 64-bit prefetchable BARs, through VFIO's region info and its emulated config space only: usemem
 * as BAR4/5 and, on the GH layout, a 1 GiB uncached resmem as BAR2/3. Host sysfs ({@code resource},
 * {@code config}) keeps showing the physical BARs, so the presented sizes are not something the
 * probe can read; {@link #withDeviceMemory(long)} computes them from the device memory size when a
 * caller knows it. {@link #hostBars()} are the physical BARs sysfs shows (on GB the physical BAR2
 * is what the guest gets at BAR2).
 *
 * @param address the GPU function
 * @param deviceId 2342, 2345, 2348 (GH200), 2941 (GB200) or 31c2 (GB300)
 * @param generation by device ID
 * @param dvsecFound whether NVIDIA's GPU capability DVSEC (vendor 10de, ID 3) is in config space
 * @param resmemExpected the driver's {@code has_mig_hw_bug}: true unless that DVSEC's register at +0x0A
 *        has bit 0 ({@code MIG_SUPPORTED_WITH_CACHED_RESMEM}) set; without the DVSEC it is true
 * @param binding what the {@code driver} link names, classified
 * @param driver the {@code driver} link's target name exactly as sysfs has it
 * @param hostNode the function's {@code numa_node}
 * @param hostBars the physical memory BARs sysfs shows, non-empty ones only
 * @param presented the fake BARs the variant driver presents, when the device memory size is known
 */
public record NvidiaGraceGpu(PciAddress address, int deviceId, Generation generation, boolean dvsecFound, boolean resmemExpected,
        Binding binding, Optional<String> driver, OptionalInt hostNode, List<PciBar> hostBars, Optional<PresentedBars> presented) {

    /** The driver's name in sysfs: KBUILD_MODNAME of nvgrace-gpu-vfio-pci.o, with underscores. */
    public static final String NVGRACE_DRIVER = "nvgrace_gpu_vfio_pci";
    public static final String VFIO_PCI_DRIVER = "vfio-pci";
    public static final int RESMEM_BAR = 2;
    public static final int USEMEM_BAR = 4;
    /** The GPU capability DVSEC the driver looks for (GPU_CAP_DVSEC_REGISTER), and its bit. */
    public static final int DVSEC_ID_GPU_CAPABILITIES = 3;
    public static final int MIG_SUPPORTED_WITH_CACHED_RESMEM = 0x1;
    public static final long RESMEM_SIZE = 1L << 30;
    /** MEMBLK_SIZE: usemem is a multiple of it when resmem is carved out. */
    public static final long MEMORY_BLOCK = 512L << 20;

    public enum Generation {
        GH, GB
    }

    /** What the function is bound to. */
    public enum Binding {
        NVGRACE, VFIO_PCI, OTHER, NONE
    }

    /**
     * The fake BARs the variant driver reports for a device memory size; a size of 0 means the BAR is
     * not presented (no resmem on the GB layout; nothing at all when ACPI gives no memory, where the
     * driver falls back to plain vfio-pci-core behaviour).
     */
    public record PresentedBars(long deviceMemory, long usememLength, long usememBarSize, long resmemLength, long resmemBarSize) {
    }

    public NvidiaGraceGpu {
        requireNonNull(address, "address is null");
        requireNonNull(generation, "generation is null");
        requireNonNull(binding, "binding is null");
        requireNonNull(driver, "driver is null");
        requireNonNull(hostNode, "hostNode is null");
        hostBars = List.copyOf(hostBars);
        requireNonNull(presented, "presented is null");
    }

    /** The generation of a device nvgrace-gpu's ID table lists, empty for every other function. */
    public static Optional<Generation> generation(int vendorId, int deviceId) {
        if (vendorId != PciFunction.VENDOR_NVIDIA) {
            return Optional.empty();
        }
        return switch (deviceId) {
            case 0x2342, 0x2345, 0x2348 -> Optional.of(Generation.GH);
            case 0x2941, 0x31c2 -> Optional.of(Generation.GB);
            default -> Optional.empty();
        };
    }

    /** The Grace GPU {@code function} is, or empty when it is none of the five IDs. */
    public static Optional<NvidiaGraceGpu> of(PciFunction function) {
        return generation(function.vendorId(), function.deviceId()).map(generation -> {
            Optional<PciDvsec> dvsec = function.dvsec(PciFunction.VENDOR_NVIDIA, DVSEC_ID_GPU_CAPABILITIES);
            // As nvgrace_gpu_has_mig_hw_bug(): only a DVSEC whose register has the bit says the fix is there.
            boolean cachedResmem = dvsec.flatMap(found -> found.firstRegister().isPresent()
                    ? Optional.of(found.firstRegister().getAsInt()) : Optional.empty())
                    .map(register -> (register & MIG_SUPPORTED_WITH_CACHED_RESMEM) != 0).orElse(false);
            List<PciBar> bars = function.bars().stream().filter(PciBar::isMemory).filter(bar -> bar.size() > 0).toList();
            return new NvidiaGraceGpu(function.address(), function.deviceId(), generation, dvsec.isPresent(), !cachedResmem,
                    binding(function.driver()), function.driver(), function.numaNode(), bars, Optional.empty());
        });
    }

    public static Binding binding(Optional<String> driver) {
        if (driver.isEmpty()) {
            return Binding.NONE;
        }
        return switch (driver.get()) {
            case NVGRACE_DRIVER -> Binding.NVGRACE;
            case VFIO_PCI_DRIVER -> Binding.VFIO_PCI;
            default -> Binding.OTHER;
        };
    }

    /** GH200, GB200 or GB300. */
    public String model() {
        return switch (deviceId) {
            case 0x2941 -> "GB200";
            case 0x31c2 -> "GB300";
            default -> "GH200";
        };
    }

    /** "GH layout" (resmem at BAR2, usemem at BAR4) or "GB layout" (usemem at BAR4 only), from the DVSEC bit. */
    public String layout() {
        return resmemExpected ? "GH layout" : "GB layout";
    }

    public Optional<PciBar> hostBar(int index) {
        return hostBars.stream().filter(bar -> bar.index() == index).findFirst();
    }

    /** This GPU with the fake BARs the driver presents for {@code deviceMemory} bytes (ACPI nvidia,gpu-mem-size). */
    public NvidiaGraceGpu withDeviceMemory(long deviceMemory) {
        return new NvidiaGraceGpu(address, deviceId, generation, dvsecFound, resmemExpected, binding, driver, hostNode, hostBars,
                Optional.of(presentedBars(resmemExpected, deviceMemory)));
    }

    /**
     * This GPU with the device memory the operator declared for it (host setting {@code grace-device-memory}):
     * by its address first, else by its {@code 10de:dddd}; unchanged when neither is declared.
     */
    public NvidiaGraceGpu withDeclaredMemory(Map<String, Long> declared) {
        Long memory = declared.get(address.toString());
        if (memory == null) {
            memory = declared.get(String.format(Locale.ROOT, "%04x:%04x", PciFunction.VENDOR_NVIDIA, deviceId));
        }
        return memory == null ? this : withDeviceMemory(memory);
    }

    /**
     * The 64-bit memory BARs the guest sees: the presented usemem (and resmem on the GH layout) in
     * place of whatever sysfs shows in their slots, and the physical 64-bit BARs elsewhere; empty when
     * the device memory is not known, since then the largest of them is not known either.
     */
    public Optional<List<PciBar>> guestBars64() {
        if (presented.isEmpty()) {
            return Optional.empty();
        }
        PresentedBars sizes = presented.get();
        List<PciBar> bars = new ArrayList<>();
        for (PciBar bar : hostBars) {
            boolean replaced = bar.index() == USEMEM_BAR || bar.index() == USEMEM_BAR + 1
                    || (resmemExpected && (bar.index() == RESMEM_BAR || bar.index() == RESMEM_BAR + 1));
            if (!replaced && bar.kind() == PciBar.Kind.MEMORY_64) {
                bars.add(bar);
            }
        }
        if (resmemExpected && sizes.resmemBarSize() > 0) {
            bars.add(new PciBar(RESMEM_BAR, PciBar.Kind.MEMORY_64, true, sizes.resmemBarSize()));
        }
        if (sizes.usememBarSize() > 0) {
            bars.add(new PciBar(USEMEM_BAR, PciBar.Kind.MEMORY_64, true, sizes.usememBarSize()));
        }
        return Optional.of(List.copyOf(bars));
    }

    /**
     * nvgrace_gpu_init_nvdev_struct(): with resmem, 1 GiB comes off the end and usemem is rounded down
     * to 512 MiB, resmem taking the rest; each BAR is its length rounded up to a power of two (so a
     * resmem longer than 1 GiB, from memory not 512 MiB aligned, presents a 2 GiB BAR). Memory of 0
     * (the C2C link is down) or a usemem rounded to 0 fail the driver's setup: nothing is presented.
     */
    public static PresentedBars presentedBars(boolean resmemExpected, long deviceMemory) {
        if (deviceMemory <= 0 || (resmemExpected && deviceMemory <= RESMEM_SIZE)) {
            return new PresentedBars(Math.max(deviceMemory, 0), 0, 0, 0, 0);
        }
        long usemem = resmemExpected ? deviceMemory - RESMEM_SIZE : deviceMemory;
        long usememBar = roundUpToPowerOfTwo(usemem);
        if (!resmemExpected) {
            return new PresentedBars(deviceMemory, usemem, usememBar, 0, 0);
        }
        usemem = usemem / MEMORY_BLOCK * MEMORY_BLOCK;
        if (usemem == 0) {
            return new PresentedBars(deviceMemory, 0, 0, 0, 0);
        }
        long resmem = deviceMemory - usemem;
        return new PresentedBars(deviceMemory, usemem, usememBar, resmem, roundUpToPowerOfTwo(resmem));
    }

    static long roundUpToPowerOfTwo(long value) {
        if (value <= 1) {
            return 1;
        }
        long highest = Long.highestOneBit(value - 1) << 1;
        if (highest <= 0) {
            throw new IllegalArgumentException("no power of two holds " + value);
        }
        return highest;
    }

    /**
     * What the probe and the plan should say about this GPU. Bound to plain vfio-pci, QEMU gets only the
     * physical BARs and the guest no device memory: a warning with the driver_override fix. Bound to
     * nvgrace_gpu_vfio_pci with a known device memory that leaves usemem (or, on the GH layout, resmem)
     * out: a warning, the driver's setup failed or fell back. Unknown sizes say nothing.
     */
    public List<Finding> findings() {
        List<Finding> findings = new ArrayList<>();
        String subject = address.toString();
        String bars = resmemExpected ? "usemem BAR4 and resmem BAR2" : "usemem BAR4";
        if (binding == Binding.VFIO_PCI) {
            findings.add(Finding.warning("GRACE-PLAIN-VFIO", subject, String.format(Locale.ROOT,
                    "%s is bound to plain vfio-pci, which passes only its physical BARs: the guest gets no device memory (%s are missing);"
                            + " bind nvgrace_gpu_vfio_pci instead: echo %s > /sys/bus/pci/devices/%s/driver_override,"
                            + " echo %s > /sys/bus/pci/drivers/vfio-pci/unbind, echo %s > /sys/bus/pci/drivers_probe",
                    model(), bars, NVGRACE_DRIVER, subject, subject, subject)));
        } else if (binding == Binding.NVGRACE && presented.isPresent()) {
            PresentedBars sizes = presented.get();
            List<String> missing = new ArrayList<>();
            if (sizes.usememBarSize() == 0) {
                missing.add("usemem BAR4");
            }
            if (resmemExpected && sizes.resmemBarSize() == 0) {
                missing.add("resmem BAR2");
            }
            if (!missing.isEmpty()) {
                findings.add(Finding.warning("GRACE-NO-DEVICE-MEMORY", subject, String.format(Locale.ROOT,
                        "%s is bound to %s but %s %s not presented (device memory %d bytes): the C2C link or the ACPI"
                                + " nvidia,gpu-mem-size property is wrong, and the guest would get no GPU memory",
                        model(), NVGRACE_DRIVER, String.join(" and ", missing), missing.size() == 1 ? "is" : "are", sizes.deviceMemory())));
            }
        }
        return List.copyOf(findings);
    }
}
