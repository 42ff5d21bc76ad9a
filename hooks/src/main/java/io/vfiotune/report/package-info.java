/**
 * What {@code probe} prints: the host's devices with the answers the transforms decide from
 * ({@code ProbeReport}, text and JSON), and with {@code --domain} the NCCL path type of every
 * pair on the host and in the planned guest ({@code TopologyReport}).
 */
package io.vfiotune.report;
