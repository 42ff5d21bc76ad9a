/**
 * Grace Hopper and Blackwell GPUs: generic-initiator nodes (libvirt's {@code <acpi nodeset>}
 * or QEMU's command line) and the {@code virt} machine's high MMIO window. Uses the SPI, the
 * PCI model, the platform rules and {@code layout}; no other feature.
 */
package io.vfiotune.xml.transforms.grace;
