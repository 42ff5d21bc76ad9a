package io.vfiotune.platform;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.Version;

import static java.util.Objects.requireNonNull;

import java.util.Optional;
import java.util.Set;

/**
 * Every vfio-pci property vfio-tune can emit, with the QEMU versions and
 * architectures that have it and the types QEMU declares it with. This is the
 * one place that knows; transforms ask it instead of keeping version numbers of
 * their own, and the tests prove it against {@code -device vfio-pci,help} of
 * every QEMU binary of both test stacks, in both directions (a property the
 * table says a version has must be there, one it says a version lacks must not).
 */
public enum VfioPciProperty {
    /** QEMU 2.11; a 4-bit ID, declared {@code uint4} up to 9.x and {@code uint8} with a range check from 10.0. */
    X_NV_GPUDIRECT_CLIQUE("x-nv-gpudirect-clique", DomainEdit.PropertyType.UNSIGNED, new Version(2, 11, 0), Set.of("uint4", "uint8"), Architectures.ALL, Optional.empty()),
    /** QEMU 2.12; {@code off}, {@code auto} (never emitted: its table is empty) or {@code bar0}..{@code bar5}. */
    X_MSIX_RELOCATION("x-msix-relocation", DomainEdit.PropertyType.STRING, new Version(2, 12, 0), Set.of("OffAutoPCIBAR"), Architectures.ALL, Optional.empty()),
    /**
     * QEMU 2.7 with IGD assignment; default off before 10.1, on from 10.1
     * (16cbb43302a2, no machine-type compat entry). Legacy mode turns it on
     * itself in every version.
     */
    X_IGD_OPREGION("x-igd-opregion", DomainEdit.PropertyType.BOOL, new Version(2, 7, 0), Set.of("bool"), Architectures.X86, Optional.of(new Version(10, 1, 0))),
    /** QEMU 10.0 (2fedccf03c88): {@code on} makes an unmet legacy precondition fail the start, {@code off} is UPT; default {@code auto}. */
    X_IGD_LEGACY_MODE("x-igd-legacy-mode", DomainEdit.PropertyType.STRING, new Version(10, 0, 0), Set.of("OnOffAuto"), Architectures.X86, Optional.empty());

    /** QEMU system emulator architectures, as in {@code qemu-system-ARCH}. */
    public static final class Architectures {
        public static final Set<String> ALL = Set.of("x86_64", "aarch64", "ppc64");
        public static final Set<String> X86 = Set.of("x86_64");

        private Architectures() {
        }
    }

    private final String qemuName;
    private final DomainEdit.PropertyType type;
    private final Version since;
    private final Set<String> qemuTypes;
    private final Set<String> architectures;
    private final Optional<Version> onByDefaultSince;

    VfioPciProperty(String qemuName, DomainEdit.PropertyType type, Version since, Set<String> qemuTypes, Set<String> architectures, Optional<Version> onByDefaultSince) {
        this.qemuName = qemuName;
        this.type = type;
        this.since = since;
        this.qemuTypes = qemuTypes;
        this.architectures = architectures;
        this.onByDefaultSince = onByDefaultSince;
    }

    /** The name QEMU knows it by. */
    public String qemuName() {
        return qemuName;
    }

    /** How libvirt's {@code <qemu:property type=...>} passes it. */
    public DomainEdit.PropertyType type() {
        return type;
    }

    public Version since() {
        return since;
    }

    /** The type names {@code -device vfio-pci,help} may print for it. */
    public Set<String> qemuTypes() {
        return qemuTypes;
    }

    /** The emulator architectures this table makes claims about; elsewhere vfio-tune never emits it. */
    public Set<String> architectures() {
        return architectures;
    }

    public boolean availableIn(Version qemu) {
        requireNonNull(qemu, "qemu is null");
        return qemu.compareTo(since) >= 0;
    }

    /** For a {@code bool} property: whether QEMU {@code qemu} turns it on when nothing sets it. */
    public boolean onByDefaultIn(Version qemu) {
        requireNonNull(qemu, "qemu is null");
        return availableIn(qemu) && onByDefaultSince.filter(version -> qemu.compareTo(version) >= 0).isPresent();
    }

    /** The edit that sets this property on a passed-through device. */
    public DomainEdit.SetDeviceProperty set(PciAddress hostdev, String value) {
        return new DomainEdit.SetDeviceProperty(hostdev, qemuName, type, value);
    }

    /** The entry for a QEMU property name, if vfio-tune can emit it. */
    public static Optional<VfioPciProperty> byQemuName(String name) {
        for (VfioPciProperty property : values()) {
            if (property.qemuName.equals(name)) {
                return Optional.of(property);
            }
        }
        return Optional.empty();
    }
}
