package io.vfiotune.probe.sysfs;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.probe.fixture.Directories;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Copies what the probe reads of a host's PCI sysfs into a directory that
 * {@code --sysfs-root} reads back: the device directories at their real paths
 * (so the bridge chain survives), the files the probe opens, and the
 * {@code iommu_group}, {@code driver} and {@code of_node} links, rebuilt
 * relative so the tree can be moved and attached to a bug report.
 *
 * <p>The tree is written to a temporary sibling and renamed into place at the
 * end, so an interrupted snapshot never leaves a half-written fixture.
 */
public final class SysfsSnapshot {
    /** The per-device files the probe (and lspci) read; everything else of sysfs is left behind. */
    static final List<String> DEVICE_FILES = List.of("config", "resource", "vendor", "device", "class", "revision",
            "subsystem_vendor", "subsystem_device", "numa_node", "irq");
    /** Device-tree properties that tie V100s to their NPU links on POWER9. */
    static final List<String> DEVICE_TREE_PROPERTIES = List.of("phandle", "ibm,npu", "ibm,gpu", "name", "compatible");
    /** Module parameters plans read, by module: vfio_pci's VGA switch decides IGD legacy mode. */
    static final Map<String, List<String>> MODULE_PARAMETERS = Map.of(SysfsHostTopology.VFIO_PCI_MODULE, List.of(SysfsHostTopology.DISABLE_VGA_PARAMETER));
    private static final int MAX_FILE_BYTES = 64 * 1024;

    private final SysfsRoot source;

    public SysfsSnapshot(SysfsRoot source) {
        this.source = source;
    }

    /** Writes the snapshot to {@code target}, which must not exist or be empty; returns how many functions were copied. */
    public int write(Path target, List<PciAddress> functions, Map<String, String> facts) throws IOException {
        Path absoluteTarget = target.toAbsolutePath().normalize();
        if (Files.isDirectory(absoluteTarget)) {
            try (Stream<Path> entries = Files.list(absoluteTarget)) {
                if (entries.findAny().isPresent()) {
                    throw new DirectoryNotEmptyException(absoluteTarget.toString());
                }
            }
        } else if (Files.exists(absoluteTarget, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(absoluteTarget.toString());
        }
        Files.createDirectories(absoluteTarget.getParent());
        Path staging = Files.createTempDirectory(absoluteTarget.getParent(), ".vfio-tune-snapshot-");
        try {
            Path realRoot = source.root().toRealPath();
            int copied = 0;
            for (PciAddress address : functions) {
                if (copyFunction(realRoot, address, staging)) {
                    copied++;
                }
            }
            copyModuleParameters(staging);
            StringBuilder properties = new StringBuilder("# host facts captured by 'vfio-tune snapshot'\n");
            facts.forEach((key, value) -> properties.append(key).append('=').append(value).append('\n'));
            Files.writeString(staging.resolve("facts.properties"), properties.toString());
            Files.deleteIfExists(absoluteTarget);
            Files.move(staging, absoluteTarget, StandardCopyOption.ATOMIC_MOVE);
            return copied;
        } finally {
            Directories.deleteTree(staging);
        }
    }

    private boolean copyFunction(Path realRoot, PciAddress address, Path staging) throws IOException {
        Path real;
        try {
            real = source.device(address).toRealPath();
        } catch (IOException e) {
            return false; // vanished since listing: a snapshot is of what is there
        }
        if (!real.startsWith(realRoot)) {
            return false;
        }
        Path relative = realRoot.relativize(real);
        Path copy = Files.createDirectories(staging.resolve(relative));
        for (String name : DEVICE_FILES) {
            copyBounded(real.resolve(name), copy.resolve(name), name.equals("config") ? 4096 : MAX_FILE_BYTES);
        }
        Path link = staging.resolve(realRoot.relativize(source.pciDevices().toRealPath())).resolve(address.toString());
        Files.createDirectories(link.getParent());
        Files.createSymbolicLink(link, link.getParent().relativize(copy));
        copyLinkTarget(realRoot, real, "iommu_group", staging, copy);
        copyLinkTarget(realRoot, real, "driver", staging, copy);
        Path ofNode = copyLinkTarget(realRoot, real, "of_node", staging, copy);
        if (ofNode != null) {
            for (String property : DEVICE_TREE_PROPERTIES) {
                copyBounded(real.resolve("of_node").resolve(property), ofNode.resolve(property), MAX_FILE_BYTES);
            }
        }
        Path group = real.resolve("iommu_group");
        if (Files.isDirectory(group)) {
            Path groupDevices = Files.createDirectories(staging.resolve(realRoot.relativize(group.toRealPath())).resolve("devices"));
            Files.createSymbolicLink(groupDevices.resolve(address.toString()), groupDevices.relativize(copy));
        }
        return true;
    }

    /**
     * The parameters directory is copied even when empty: a loaded module without
     * a parameter means something else than a module not loaded.
     */
    private void copyModuleParameters(Path staging) throws IOException {
        SysfsRoot copy = new SysfsRoot(staging);
        for (Map.Entry<String, List<String>> module : MODULE_PARAMETERS.entrySet()) {
            Path parameters = source.moduleParameters(module.getKey());
            if (!Files.isDirectory(parameters)) {
                continue;
            }
            Path copied = Files.createDirectories(copy.moduleParameters(module.getKey()));
            for (String parameter : module.getValue()) {
                copyBounded(parameters.resolve(parameter), copied.resolve(parameter), MAX_FILE_BYTES);
            }
        }
    }

    /** Recreates {@code device/name -> target} inside the snapshot when the target lies inside the sysfs root; returns the copied target. */
    private static Path copyLinkTarget(Path realRoot, Path device, String name, Path staging, Path copy) throws IOException {
        Path link = device.resolve(name);
        if (!Files.isSymbolicLink(link)) {
            return null;
        }
        Path target;
        try {
            target = link.toRealPath();
        } catch (IOException e) {
            return null;
        }
        if (!target.startsWith(realRoot)) {
            return null;
        }
        Path copiedTarget = Files.createDirectories(staging.resolve(realRoot.relativize(target)));
        Files.createSymbolicLink(copy.resolve(name), copy.relativize(copiedTarget));
        return copiedTarget;
    }

    private static void copyBounded(Path from, Path to, int limit) throws IOException {
        try {
            Files.write(to, SysfsHostTopology.readBounded(from, limit));
        } catch (IOException e) {
            // Unreadable or absent files stay absent: the reader reports them as the same fault it would on the host.
        }
    }
}
