package io.vfiotune.spi;

import static java.util.Objects.requireNonNull;

/**
 * A change a transform asks for. Edits are data, so the engine can apply them
 * losslessly, record them for the next re-plan, and tell whether they are
 * guest-visible (which a migrate/restore filter must not do).
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
}
