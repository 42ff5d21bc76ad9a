package io.vfiotune.spi;

import java.util.Arrays;
import java.util.Optional;

/**
 * Upstream QEMU changes that distributions carry in builds older than the
 * release that brought them. vfio-tune gates behaviour on QEMU's version, which
 * is wrong for such builds; the operator names the backports a host's QEMU has
 * in {@code qemu-backports} in vfio-tune.properties.
 */
public enum QemuBackport {
    /**
     * f6b30c1984f7 "hw/vfio/pci-quirks: Support alternate offset for GPUDirect
     * Cliques" (upstream in 8.1.0): the clique capability moves to 0xd4 when a
     * capability starts at 0xc8. Carried for example by Oracle Linux's qemu-kvm
     * 7.2.0-17.el9.
     */
    GPUDIRECT_CLIQUE_D4("gpudirect-clique-d4", new Version(8, 1, 0), "f6b30c1984f7");

    private final String settingName;
    private final Version upstreamSince;
    private final String commit;

    QemuBackport(String settingName, Version upstreamSince, String commit) {
        this.settingName = settingName;
        this.upstreamSince = upstreamSince;
        this.commit = commit;
    }

    /** How the operator names it in {@code qemu-backports}. */
    public String settingName() {
        return settingName;
    }

    /** The first upstream release that has it. */
    public Version upstreamSince() {
        return upstreamSince;
    }

    /** The upstream commit, abbreviated, for messages. */
    public String commit() {
        return commit;
    }

    public static Optional<QemuBackport> bySettingName(String name) {
        return Arrays.stream(values()).filter(backport -> backport.settingName.equals(name)).findFirst();
    }
}
