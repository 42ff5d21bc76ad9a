/**
 * The topology mirror: the host's PCIe switches, root ports and NUMA nodes laid out in the
 * guest so NCCL computes the host's path types, and the guest's 64-bit MMIO window sized for
 * OVMF. {@link io.vfiotune.xml.transforms.topology.TopologyPairs} is also what {@code probe
 * --domain} prints. Uses the SPI, the PCI model, the platform rules and {@code layout}; no
 * other feature.
 */
package io.vfiotune.xml.transforms.topology;
