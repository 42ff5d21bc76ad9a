package io.vfiotune.probe.sysfs;

import static java.util.Objects.requireNonNull;

import io.vfiotune.pci.PciAddress;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Where sysfs lives: {@code /} on a real host, a fixture directory in tests and
 * for {@code --sysfs-root}. Every path the probe opens is built here from a
 * validated {@link PciAddress} or group number, never from raw strings.
 */
public record SysfsRoot(Path root) {
    private static final Pattern MODULE_NAME = Pattern.compile("[A-Za-z0-9_]+");

    public SysfsRoot {
        requireNonNull(root, "root is null");
        root = root.toAbsolutePath().normalize();
    }

    public Path pciDevices() {
        return root.resolve("sys/bus/pci/devices");
    }

    public Path device(PciAddress address) {
        return pciDevices().resolve(address.toString());
    }

    public Path iommuGroupDevices(int group) {
        if (group < 0) {
            throw new IllegalArgumentException("negative IOMMU group");
        }
        return root.resolve("sys/kernel/iommu_groups").resolve(Integer.toString(group)).resolve("devices");
    }

    /** {@code sys/module/NAME/parameters}: the parameters a loaded module (or a built-in one) shows. */
    public Path moduleParameters(String module) {
        if (!MODULE_NAME.matcher(module).matches()) {
            throw new IllegalArgumentException("not a module name: " + module);
        }
        return module(module).resolve("parameters");
    }

    /** {@code sys/module/NAME}: present while the module is loaded (or built in with parameters). */
    public Path module(String module) {
        if (!MODULE_NAME.matcher(module).matches()) {
            throw new IllegalArgumentException("not a module name: " + module);
        }
        return root.resolve("sys/module").resolve(module);
    }

    public Path facts() {
        return root.resolve("facts.properties");
    }
}
