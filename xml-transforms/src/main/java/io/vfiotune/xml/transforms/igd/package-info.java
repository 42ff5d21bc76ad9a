/**
 * Intel IGD at guest 00:02.0 with its machine, ROM and display rules. Uses the SPI, the PCI
 * model, the platform rules and {@code layout}; no other feature.
 */
package io.vfiotune.xml.transforms.igd;
