package io.vfiotune.xml.engine;

import io.vfiotune.spi.Version;

import java.util.Optional;

/** How a device property reaches QEMU, by libvirt and QEMU version (see the contract). */
enum OutputForm {
    /** {@code <qemu:override>} on a {@code ua-} alias: libvirt >= 8.2. */
    OVERRIDE,
    /** {@code -set device.ALIAS.PROP=VAL}: only while libvirt < 8.2 still emits {@code -device} as key=value, i.e. QEMU < 6.2. */
    SET_COMMANDLINE;

    static Optional<OutputForm> choose(Version libvirt, Version qemu) {
        if (libvirt.atLeast(8, 2)) {
            return Optional.of(OVERRIDE);
        }
        if (!qemu.atLeast(6, 2)) {
            return Optional.of(SET_COMMANDLINE);
        }
        return Optional.empty();
    }
}
