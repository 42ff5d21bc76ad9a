package io.vfiotune.probe.sysfs;

import static java.util.Objects.requireNonNull;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciBar;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostFacts;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.VfioVgaAccess;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads PCI functions from sysfs on demand and caches them. Only what a plan
 * asks for is read, so hosts with thousands of unrelated functions (SR-IOV VFs)
 * cost no more than small ones.
 */
public final class SysfsHostTopology implements HostTopology {
    private static final int MAX_CONFIG_BYTES = 4096;
    private static final Pattern ROOT_COMPLEX = Pattern.compile("pci[0-9a-f]{4}:[0-9a-f]{2}");
    private static final int MAX_SMALL_FILE_BYTES = 64 * 1024;
    public static final String VFIO_PCI_MODULE = "vfio_pci";
    public static final String DISABLE_VGA_PARAMETER = "disable_vga";

    private final SysfsRoot sysfs;
    private final HostFacts facts;
    private final NvlinkPairing nvlinkPairing;
    private final Map<PciAddress, Optional<PciFunction>> functions = new ConcurrentHashMap<>();
    private volatile VfioVgaAccess vfioVgaAccess;

    public SysfsHostTopology(SysfsRoot sysfs, HostFacts facts) {
        this.sysfs = requireNonNull(sysfs, "sysfs is null");
        this.facts = requireNonNull(facts, "facts is null");
        this.nvlinkPairing = new NvlinkPairing(sysfs);
    }

    @Override
    public Optional<PciFunction> function(PciAddress address) {
        return functions.computeIfAbsent(address, this::read);
    }

    @Override
    public List<PciAddress> iommuGroupMembers(int group) {
        return addressesIn(sysfs.iommuGroupDevices(group));
    }

    @Override
    public HostFacts facts() {
        return facts;
    }

    @Override
    public VfioVgaAccess vfioVgaAccess() {
        VfioVgaAccess access = vfioVgaAccess;
        if (access == null) {
            access = readVfioVgaAccess();
            vfioVgaAccess = access;
        }
        return access;
    }

    /**
     * The parameter exists only in a kernel built with CONFIG_VFIO_PCI_VGA, and
     * reads Y or N (a bool module parameter). vfio_pci always shows other
     * parameters (nointxmask), so a parameters directory without it is a kernel
     * without VGA support; no directory at all is a module not loaded yet.
     */
    private VfioVgaAccess readVfioVgaAccess() {
        Path parameters = sysfs.moduleParameters(VFIO_PCI_MODULE);
        Path disableVga = parameters.resolve(DISABLE_VGA_PARAMETER);
        if (!Files.exists(disableVga)) {
            return Files.isDirectory(parameters) ? VfioVgaAccess.NOT_BUILT_IN : VfioVgaAccess.UNKNOWN;
        }
        return readText(disableVga).map(String::strip).map(value -> switch (value) {
            case "Y", "1" -> VfioVgaAccess.DISABLED;
            case "N", "0" -> VfioVgaAccess.AVAILABLE;
            default -> VfioVgaAccess.UNKNOWN;
        }).orElse(VfioVgaAccess.UNKNOWN);
    }

    /** Every function the host lists, for {@code probe} without arguments and {@code snapshot}. */
    public List<PciAddress> listFunctions() {
        return addressesIn(sysfs.pciDevices());
    }

    /** Entries of a sysfs directory that are PCI addresses, sorted; anything else there is ignored. */
    private static List<PciAddress> addressesIn(Path directory) {
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.map(path -> path.getFileName().toString()).filter(PciAddress::isCanonical)
                    .map(PciAddress::parse).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private Optional<PciFunction> read(PciAddress address) {
        Path directory = sysfs.device(address);
        if (!Files.exists(directory)) {
            return Optional.empty();
        }
        String subject = address.toString();
        List<Finding> faults = new ArrayList<>();
        byte[] config;
        try {
            config = readBounded(directory.resolve("config"), MAX_CONFIG_BYTES);
        } catch (NoSuchFileException e) {
            faults.add(Finding.error("PROBE-VANISHED", subject, "the device disappeared while it was being read"));
            config = new byte[0];
        } catch (AccessDeniedException e) {
            faults.add(Finding.error("PROBE-UNREADABLE", subject, "config space is not readable (permission denied); run as root"));
            config = new byte[0];
        } catch (IOException e) {
            faults.add(Finding.error("PROBE-UNREADABLE", subject, "config space could not be read: " + e.getClass().getSimpleName()));
            config = new byte[0];
        }
        ConfigSpace decoded = ConfigSpace.decode(config, subject);
        if (config.length > 0) {
            faults.addAll(decoded.faults());
        }
        Optional<List<BarDecoder.ResourceLine>> resource = readResource(directory, subject, faults);
        List<PciBar> bars = config.length >= 0x40 ? BarDecoder.decode(decoded, resource) : List.of();
        OptionalInt group = readIommuGroup(directory, subject, faults);
        Placement placement = placement(address, faults);
        List<PciAddress> nvlinks = group.isPresent() && NvlinkPairing.takesPart(decoded.vendorId(), decoded.deviceId())
                ? nvlinkPairing.peers(address, decoded.vendorId(), decoded.deviceId(), iommuGroupMembers(group.getAsInt()))
                : List.of();
        return Optional.of(new PciFunction(address, decoded.vendorId(), decoded.deviceId(), decoded.classCode(),
                readNumaNode(directory, subject, faults), group, readLinkName(directory.resolve("driver")), bars,
                decoded.capabilities(), decoded.msix(), decoded.portType(), decoded.acs(), placement.upstream(), placement.rootComplex(),
                nvlinks, config.length, faults, readSubsystem(directory), decoded.dvsecs()));
    }

    /**
     * Linux's {@code subsystem_vendor}/{@code subsystem_device}: for an endpoint the header's, for a bridge
     * its Subsystem ID capability's (config space alone would not say). Only NCCL's switch rules read it,
     * so a missing file is no fault.
     */
    private static OptionalInt readSubsystem(Path directory) {
        Optional<String> vendor = readText(directory.resolve("subsystem_vendor"));
        Optional<String> device = readText(directory.resolve("subsystem_device"));
        if (vendor.isEmpty() || device.isEmpty()) {
            return OptionalInt.empty();
        }
        try {
            return OptionalInt.of((int) (parseHex(vendor.get().trim()) << 16 | parseHex(device.get().trim())));
        } catch (NumberFormatException e) {
            return OptionalInt.empty();
        }
    }

    private Optional<List<BarDecoder.ResourceLine>> readResource(Path directory, String subject, List<Finding> faults) {
        Optional<String> text = readText(directory.resolve("resource"));
        if (text.isEmpty()) {
            faults.add(Finding.warning("PROBE-NO-RESOURCE", subject, "sysfs 'resource' is missing or unreadable; BAR sizes are unknown"));
            return Optional.empty();
        }
        List<BarDecoder.ResourceLine> lines = new ArrayList<>();
        for (String line : text.get().split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length != 3) {
                continue;
            }
            try {
                lines.add(new BarDecoder.ResourceLine(parseHex(fields[0]), parseHex(fields[1]), parseHex(fields[2])));
            } catch (NumberFormatException e) {
                faults.add(Finding.warning("PROBE-BAD-RESOURCE", subject, "sysfs 'resource' has an unparsable line; BAR sizes are unknown"));
                return Optional.empty();
            }
        }
        return Optional.of(lines);
    }

    private OptionalInt readIommuGroup(Path directory, String subject, List<Finding> faults) {
        Path link = directory.resolve("iommu_group");
        if (!Files.isSymbolicLink(link)) {
            faults.add(Finding.warning("PROBE-NO-IOMMU-GROUP", subject, "the device has no IOMMU group: the IOMMU is off or the device is not isolated"));
            return OptionalInt.empty();
        }
        if (!Files.exists(link)) {
            faults.add(Finding.warning("PROBE-DANGLING-LINK", subject, "the iommu_group link points nowhere"));
            return OptionalInt.empty();
        }
        try {
            return OptionalInt.of(Integer.parseInt(link.toRealPath().getFileName().toString()));
        } catch (IOException | NumberFormatException e) {
            faults.add(Finding.warning("PROBE-DANGLING-LINK", subject, "the iommu_group link does not name a group number"));
            return OptionalInt.empty();
        }
    }

    private static OptionalInt readNumaNode(Path directory, String subject, List<Finding> faults) {
        Optional<String> text = readText(directory.resolve("numa_node"));
        if (text.isEmpty()) {
            faults.add(Finding.warning("PROBE-NO-NUMA-NODE", subject, "sysfs 'numa_node' is missing or unreadable"));
            return OptionalInt.empty();
        }
        try {
            int node = Integer.parseInt(text.get().trim());
            return node >= 0 ? OptionalInt.of(node) : OptionalInt.empty();
        } catch (NumberFormatException e) {
            faults.add(Finding.warning("PROBE-NO-NUMA-NODE", subject, "sysfs 'numa_node' is not a number"));
            return OptionalInt.empty();
        }
    }

    /** Where a function sits: the bridges above it, nearest first, and its root complex. */
    private record Placement(List<PciAddress> upstream, String rootComplex) {
    }

    /** Read from the real path of the function's sysfs link, {@code .../pci0000:00/0000:00:02.0/0000:03:00.0}. */
    private Placement placement(PciAddress address, List<Finding> faults) {
        String unknownRoot = String.format(Locale.ROOT, "pci%04x:??", address.domain());
        Path realPath;
        Path realRoot;
        try {
            realPath = sysfs.device(address).toRealPath();
            realRoot = sysfs.root().toRealPath();
        } catch (IOException e) {
            faults.add(Finding.warning("PROBE-DANGLING-LINK", address.toString(), "the sysfs device link cannot be resolved"));
            return new Placement(List.of(), unknownRoot);
        }
        if (!realPath.startsWith(realRoot)) {
            faults.add(Finding.warning("PROBE-OUTSIDE-ROOT", address.toString(), "the sysfs device link leaves the sysfs root; parents ignored"));
            return new Placement(List.of(), unknownRoot);
        }
        List<PciAddress> parents = new ArrayList<>();
        String rootComplex = unknownRoot;
        for (Path part : realRoot.relativize(realPath.getParent())) {
            String name = part.toString();
            if (PciAddress.isCanonical(name)) {
                parents.add(0, PciAddress.parse(name));
            } else if (ROOT_COMPLEX.matcher(name).matches()) {
                rootComplex = name;
            }
        }
        return new Placement(List.copyOf(parents), rootComplex);
    }

    private static Optional<String> readLinkName(Path link) {
        try {
            return Files.isSymbolicLink(link) ? Optional.of(Files.readSymbolicLink(link).getFileName().toString()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Optional<String> readText(Path file) {
        try {
            return Optional.of(new String(readBounded(file, MAX_SMALL_FILE_BYTES), StandardCharsets.US_ASCII));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Reads at most {@code limit} bytes; sysfs files report size 4096 whatever they hold, so never trust the size. */
    static byte[] readBounded(Path file, int limit) throws IOException {
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString());
        }
        if (!Files.isRegularFile(file)) {
            // Never open FIFOs, devices or directories: a read could block a VM start forever.
            throw new IOException(file + " is not a regular file");
        }
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(limit);
        }
    }

    private static long parseHex(String text) {
        String digits = text.startsWith("0x") || text.startsWith("0X") ? text.substring(2) : text;
        return Long.parseUnsignedLong(digits, 16);
    }
}
