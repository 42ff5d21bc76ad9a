package io.vfiotune.spi;

import io.vfiotune.pci.PciAddress;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A change a transform asks for. Edits are data, so the engine can apply them
 * losslessly, record them for the next re-plan, and tell whether they are
 * guest-visible (which a migrate/restore filter must not do).
 * <p>One file over 350 lines on purpose: every kind of edit a transform can ask for is a record of
 * this one sealed interface, so the engine's switches over them are exhaustive and a reader
 * sees the whole vocabulary in one place.
 */
public sealed interface DomainEdit {
    /** The hostdev or element this edit is about, for messages. */
    String subject();

    /** Whether the guest's hardware ABI changes (addresses, controllers, ROM, video). */
    boolean guestVisible();

    /** QEMU property types as libvirt's {@code <qemu:property type=...>} names them. */
    enum PropertyType {
        STRING("string"), UNSIGNED("unsigned"), SIGNED("signed"), BOOL("bool");

        private final String xmlName;

        PropertyType(String xmlName) {
            this.xmlName = xmlName;
        }

        public String xmlName() {
            return xmlName;
        }
    }

    /**
     * Set a vfio-pci front-end property on a hostdev. The engine picks the output
     * form for the libvirt and QEMU versions, and gives the hostdev an alias.
     */
    record SetDeviceProperty(PciAddress hostdev, String property, PropertyType type, String value) implements DomainEdit {
        public SetDeviceProperty {
            requireNonNull(hostdev, "hostdev is null");
            requireNonNull(property, "property is null");
            requireNonNull(type, "type is null");
            requireNonNull(value, "value is null");
        }

        @Override
        public String subject() {
            return hostdev.toString();
        }

        @Override
        public boolean guestVisible() {
            // Carried in the qemu: namespace, which libvirt's ABI check lets a restore filter change.
            return false;
        }
    }

    /**
     * Set a front-end property on a device the user named with a {@code ua-}
     * alias (an emulated NIC, an RNG...), for site transforms that tune more
     * than hostdevs. Same output forms and ownership rules as {@link SetDeviceProperty}.
     */
    record SetAliasedDeviceProperty(String alias, String property, PropertyType type, String value) implements DomainEdit {
        public SetAliasedDeviceProperty {
            requireNonNull(alias, "alias is null");
            requireNonNull(property, "property is null");
            requireNonNull(type, "type is null");
            requireNonNull(value, "value is null");
            if (!alias.startsWith("ua-")) {
                throw new IllegalArgumentException("only user aliases (ua-...) are stable across starts: " + alias);
            }
        }

        @Override
        public String subject() {
            return alias;
        }

        @Override
        public boolean guestVisible() {
            return false;
        }
    }

    /**
     * Give the guest firmware a {@code -fw_cfg name=NAME,string=VALUE} item. libvirt's
     * {@code <sysinfo type='fwcfg'>} refuses the {@code opt/ovmf/} names OVMF reads
     * ("That firmware name is reserved", libvirt 9.0 and 11.3), so the engine writes it
     * as a {@code <qemu:commandline>} pair, recorded and taken back like a property.
     */
    record SetFirmwareConfig(String name, String value) implements DomainEdit {
        public SetFirmwareConfig {
            requireNonNull(name, "name is null");
            requireNonNull(value, "value is null");
            if (!name.startsWith("opt/") || name.contains(",") || value.contains(",")) {
                throw new IllegalArgumentException("fw_cfg items are named opt/..., and neither name nor value may hold a comma: " + name + "=" + value);
            }
        }

        @Override
        public String subject() {
            return name;
        }

        @Override
        public boolean guestVisible() {
            // Read by the firmware at boot only; a restored or migrated guest does not boot again.
            return false;
        }
    }

    /** Add a memory-less, CPU-less guest NUMA cell: {@code <cell id='N' memory='0' unit='KiB'/>} (libvirt >= 11.8). */
    record AddGuestNumaCell(int id) implements DomainEdit {
        @Override
        public String subject() {
            return "guest NUMA cell " + id;
        }

        @Override
        public boolean guestVisible() {
            return true;
        }
    }

    /** Tie a hostdev to guest cells by ACPI Generic Initiators: {@code <acpi nodeset='N-M'/>} in the {@code <hostdev>} (libvirt >= 11.8). */
    record SetHostdevAcpiNodeset(PciAddress hostdev, String nodeset) implements DomainEdit {
        public SetHostdevAcpiNodeset {
            requireNonNull(hostdev, "hostdev is null");
            requireNonNull(nodeset, "nodeset is null");
        }

        @Override
        public String subject() {
            return hostdev.toString();
        }

        @Override
        public boolean guestVisible() {
            return true;
        }
    }

    /**
     * Memory-less guest NUMA nodes, each tied to a hostdev by an ACPI Generic Initiator,
     * through {@code <qemu:commandline>} for libvirt before 11.8 (QEMU >= 9.0):
     * {@code -numa node,nodeid=N} and {@code -object acpi-generic-initiator,...,pci-dev=ALIAS,node=N}.
     * Guest-visible although it lives in the qemu: namespace, so a restore filter never adds it.
     */
    record AddGenericInitiators(PciAddress hostdev, List<Integer> nodes) implements DomainEdit {
        public AddGenericInitiators {
            requireNonNull(hostdev, "hostdev is null");
            nodes = List.copyOf(nodes);
        }

        @Override
        public String subject() {
            return hostdev.toString();
        }

        @Override
        public boolean guestVisible() {
            return true;
        }
    }

    /**
     * Size the 64-bit PCI hole with {@code <pcihole64 unit='KiB'>} in the {@code pcie-root} controller,
     * which the engine adds when the definition lets libvirt add it; libvirt >= 11.4 renders it on
     * an aarch64 {@code virt} machine as {@code highmem-mmio-size=NK}. Guest-visible.
     */
    record SetPcieRootHole64(long kib) implements DomainEdit {
        public SetPcieRootHole64 {
            if (kib <= 0) {
                throw new IllegalArgumentException("a 64-bit PCI hole has a size: " + kib);
            }
        }

        @Override
        public String subject() {
            return "pcie-root pcihole64";
        }

        @Override
        public boolean guestVisible() {
            return true;
        }
    }

    /**
     * Set a machine property through {@code <qemu:commandline>} as {@code -machine NAME=VALUE}, which
     * QEMU merges into libvirt's own {@code -machine} (measured with QEMU 10.0's
     * {@code highmem-mmio-size}). For properties no libvirt element sets; the machine's memory map is
     * guest-visible, so a restore filter never adds it.
     */
    record SetMachineProperty(String name, String value) implements DomainEdit {
        public SetMachineProperty {
            requireNonNull(name, "name is null");
            requireNonNull(value, "value is null");
            if (!name.matches("[a-z0-9-]+") || value.isEmpty() || value.contains(",")) {
                throw new IllegalArgumentException("a machine property is a QEMU name and a value without commas: " + name + "=" + value);
            }
        }

        @Override
        public String subject() {
            return "machine " + name;
        }

        @Override
        public boolean guestVisible() {
            return true;
        }
    }

    /**
     * Add an extra sPAPR PHB: {@code <controller type='pci' model='pci-root'>}
     * with {@code <model name='spapr-pci-host-bridge'/>}. Devices name it as
     * {@code bus=index}; QEMU sees {@code targetIndex}.
     */
    record AddSpaprPhb(int index, int targetIndex, OptionalInt numaNode) implements DomainEdit {
        public AddSpaprPhb {
            requireNonNull(numaNode, "numaNode is null");
        }

        @Override
        public String subject() {
            return "PHB " + index;
        }

        @Override
        public boolean guestVisible() {
            return true;
        }
    }

    /**
     * Add a PCIe controller of a q35 or virt guest. An expander bus names the guest
     * NUMA cell it sits on and the first bus number it takes; ports sit at a pinned
     * address, because libvirt would put an unaddressed port on {@code pcie.0}.
     *
     * @param address where the controller plugs in; empty lets libvirt choose (expander buses on {@code pcie.0})
     * @param busNr the expander bus's {@code <target busNr>}
     * @param numaNode the expander bus's {@code <target><node>}
     */
    record AddPcieController(int index, PcieControllerModel model, Optional<GuestPciAddress> address, OptionalInt busNr, OptionalInt numaNode) implements DomainEdit {
        public AddPcieController {
            requireNonNull(model, "model is null");
            requireNonNull(address, "address is null");
            requireNonNull(busNr, "busNr is null");
            requireNonNull(numaNode, "numaNode is null");
        }

        @Override
        public String subject() {
            return model.xmlName() + " " + index;
        }

        @Override
        public boolean guestVisible() {
            return true;
        }
    }

    /** The PCIe controllers vfio-tune adds, by libvirt's {@code model} names. */
    enum PcieControllerModel {
        EXPANDER_BUS("pcie-expander-bus"),
        ROOT_PORT("pcie-root-port"),
        SWITCH_UPSTREAM_PORT("pcie-switch-upstream-port"),
        SWITCH_DOWNSTREAM_PORT("pcie-switch-downstream-port");

        private final String xmlName;

        PcieControllerModel(String xmlName) {
            this.xmlName = xmlName;
        }

        public String xmlName() {
            return xmlName;
        }
    }

    /**
     * Pin a hostdev to a guest PCI address (the {@code <address type='pci'>} of the {@code <hostdev>}).
     *
     * @param multifunction whether the address says {@code multifunction='on'}: function 0 of a slot that holds more
     */
    record SetGuestAddress(PciAddress hostdev, GuestPciAddress address, boolean multifunction) implements DomainEdit {
        public SetGuestAddress {
            requireNonNull(hostdev, "hostdev is null");
            requireNonNull(address, "address is null");
        }

        public SetGuestAddress(PciAddress hostdev, GuestPciAddress address) {
            this(hostdev, address, false);
        }

        @Override
        public String subject() {
            return hostdev.toString();
        }

        @Override
        public boolean guestVisible() {
            return true;
        }
    }

    /** Move whatever device sits at {@code from} to {@code to} (a slot another device needs). */
    record MoveGuestDevice(GuestPciAddress from, GuestPciAddress to) implements DomainEdit {
        public MoveGuestDevice {
            requireNonNull(from, "from is null");
            requireNonNull(to, "to is null");
        }

        @Override
        public String subject() {
            return "guest " + from;
        }

        @Override
        public boolean guestVisible() {
            return true;
        }
    }

    /** Give a hostdev {@code <rom bar='on'/>}. */
    record EnableRomBar(PciAddress hostdev) implements DomainEdit {
        public EnableRomBar {
            requireNonNull(hostdev, "hostdev is null");
        }

        @Override
        public String subject() {
            return hostdev.toString();
        }

        @Override
        public boolean guestVisible() {
            return true;
        }
    }

    /**
     * Turn the emulated display off: the first {@code <video>} becomes
     * {@code <model type='none'/>} and any further one is removed, because
     * libvirt accepts a {@code none} video only as the only video.
     */
    record DisableEmulatedVideo() implements DomainEdit {
        @Override
        public String subject() {
            return "video";
        }

        @Override
        public boolean guestVisible() {
            return true;
        }
    }
}
