/**
 * The contract between vfio-tune's engine and its transforms, and between the
 * engine and the probe: what a transform implements ({@link io.vfiotune.spi.DomainTransform}),
 * what it receives (the domain as {@link io.vfiotune.spi.DomainView}, the host as
 * {@link io.vfiotune.spi.HostTopology} and {@link io.vfiotune.spi.HostFacts}), and what it
 * returns ({@link io.vfiotune.spi.DomainEdit}s the engine applies and
 * {@link io.vfiotune.spi.Finding}s). Also the vocabulary those speak: versions, node sets,
 * guest addresses, exit statuses, and the host facts an operator declares (a QEMU backport,
 * the vfio-pci VGA setting).
 *
 * <p>What belongs here changes only when the contract does. It may use the PCI model
 * ({@code io.vfiotune.pci}) and the JDK; it must not use the platform rules
 * ({@code io.vfiotune.platform}), which change with every QEMU, kernel and NCCL release,
 * nor anything outside plugin-api. {@code ArchitectureTest} holds it to that.
 */
package io.vfiotune.spi;
