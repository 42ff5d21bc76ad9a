/**
 * MSI-X relocation ({@code x-msix-relocation}): the BAR chosen from the real config space and
 * the host's page size. Uses the SPI, the PCI model, the platform rules and {@code layout}; no
 * other feature.
 */
package io.vfiotune.xml.transforms.msix;
