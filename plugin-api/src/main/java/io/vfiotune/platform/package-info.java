/**
 * What QEMU, the Linux kernel and NCCL do with a device, written down as vfio-tune relies
 * on it: which {@code vfio-pci} properties each QEMU has and since when
 * ({@link io.vfiotune.platform.VfioPciProperty}), where QEMU really places the GPUDirect clique
 * capability, when MSI-X relocation helps and which BAR QEMU picks, the IGD device tables,
 * the Grace GPUs of the nvgrace-gpu driver, and the path types and lineage NCCL computes
 * between two devices. Each class cites the upstream code it follows; this is what changes
 * with a QEMU, kernel or NCCL release.
 *
 * <p>It may use the contract ({@code io.vfiotune.spi}), the PCI model
 * ({@code io.vfiotune.pci}) and the JDK. The contract must not use it; transforms and the
 * probe may. {@code ArchitectureTest} holds it to that.
 */
package io.vfiotune.platform;
