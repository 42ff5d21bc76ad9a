/**
 * The PCI model: what the PCI and PCIe specifications say a function is, as the probe reads
 * it from a host: addresses, BARs, capabilities, DVSECs, MSI-X layout, port types and ACS.
 * Nothing here knows about QEMU, the kernel's drivers or NCCL; those rules are in
 * {@code io.vfiotune.platform}.
 *
 * <p>It uses the JDK and, for what went wrong while a function was read
 * ({@link io.vfiotune.pci.PciFunction#faults()}), the contract's
 * {@link io.vfiotune.spi.Finding} and {@link io.vfiotune.spi.Severity}; nothing else.
 * Everything may use it. {@code ArchitectureTest} holds it to that.
 */
package io.vfiotune.pci;
