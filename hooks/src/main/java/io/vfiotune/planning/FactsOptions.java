package io.vfiotune.planning;

import io.vfiotune.probe.facts.HostSettings;
import picocli.CommandLine.Option;

import java.util.Map;
import java.util.TreeMap;

/** The contract's FACTS options; each pins what would otherwise be read from the machine. */
public final class FactsOptions {
    @Option(names = "--sysfs-root", paramLabel = "DIR", description = "Read sysfs from DIR/sys (default /). A fixture's facts.properties there is used too.")
    public String sysfsRoot;

    @Option(names = "--arch", paramLabel = "ARCH", description = "Host architecture, as uname -m prints it.")
    String arch;

    @Option(names = "--page-size", paramLabel = "BYTES", description = "Host page size in bytes.")
    String pageSize;

    @Option(names = "--libvirt-version", paramLabel = "X.Y.Z", description = "libvirt version to plan for.")
    String libvirtVersion;

    @Option(names = "--qemu-version", paramLabel = "X.Y.Z", description = "QEMU version to plan for.")
    String qemuVersion;

    @Option(names = "--policy-file", paramLabel = "FILE", description = "Use the host policy in FILE instead of /etc/vfio-tune/policy.xml (rules that annotate domains"
            + " without a <vt:tune> of their own).")
    String policyFile;

    public Map<String, String> asSettings() {
        Map<String, String> values = new TreeMap<>();
        put(values, HostSettings.SYSFS_ROOT, sysfsRoot);
        put(values, HostSettings.ARCH, arch);
        put(values, HostSettings.PAGE_SIZE, pageSize);
        put(values, HostSettings.LIBVIRT_VERSION, libvirtVersion);
        put(values, HostSettings.QEMU_VERSION, qemuVersion);
        put(values, HostSettings.POLICY_FILE, policyFile);
        return values;
    }

    private static void put(Map<String, String> values, String key, String value) {
        if (value != null) {
            values.put(key, value);
        }
    }
}
