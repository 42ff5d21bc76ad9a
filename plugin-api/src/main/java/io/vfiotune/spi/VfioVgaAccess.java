package io.vfiotune.spi;

/**
 * Whether the host's vfio-pci driver gives guests the legacy VGA ranges of a
 * VGA-class device, which IGD legacy mode needs (the VBIOS draws there). The
 * kernel exposes the VGA region only when it was built with
 * {@code CONFIG_VFIO_PCI_VGA} and vfio_pci was loaded with {@code disable_vga}
 * off; the module parameter {@code /sys/module/vfio_pci/parameters/disable_vga}
 * exists only in such a kernel and reads {@code Y} or {@code N}.
 */
public enum VfioVgaAccess {
    /** {@code disable_vga} reads {@code N}. */
    AVAILABLE,
    /** {@code disable_vga} reads {@code Y}. */
    DISABLED,
    /** vfio_pci is loaded and has no {@code disable_vga}: the kernel was built without {@code CONFIG_VFIO_PCI_VGA}. */
    NOT_BUILT_IN,
    /** vfio_pci is not loaded yet, or its parameter could not be read: nothing can be said. */
    UNKNOWN;

    /** Whether the host certainly gives no VGA access. */
    public boolean unavailable() {
        return this == DISABLED || this == NOT_BUILT_IN;
    }
}
