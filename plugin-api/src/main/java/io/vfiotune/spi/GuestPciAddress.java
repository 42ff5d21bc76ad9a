package io.vfiotune.spi;

import java.util.Locale;

/** A guest PCI address as libvirt's {@code <address type='pci'/>} writes it. */
public record GuestPciAddress(int domain, int bus, int slot, int function) {
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%04x:%02x:%02x.%x", domain, bus, slot, function);
    }
}
