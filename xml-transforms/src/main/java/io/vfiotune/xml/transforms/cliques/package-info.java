/**
 * GPUDirect clique IDs ({@code x-nv-gpudirect-clique}): explicit ones checked, derived ones
 * from the host's peer-to-peer topology, each checked against where QEMU really places the
 * capability. Uses the SPI, the PCI model, the platform rules and {@code layout}; no other feature.
 */
package io.vfiotune.xml.transforms.cliques;
