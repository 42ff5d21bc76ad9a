package io.vfiotune.probe.sysfs;

import io.vfiotune.pci.PciAddress;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * NVLink2 on POWER9: a Tesla V100 SXM2 (10de:1db1) and the IBM NPU2 bridge
 * functions (1014:04ea) that carry its links. Linux puts a GPU and its links in
 * one IOMMU group; the firmware device tree says which link belongs to which GPU
 * ({@code ibm,npu} on the GPU node, {@code ibm,gpu} on each link, both phandle
 * lists). Without a device tree every GPU of the group is paired with every link
 * of the group, which is what the group alone can prove.
 *
 * <p>Group members are identified from their {@code vendor}/{@code device} files,
 * not through the topology cache, so pairing never re-enters a read in progress.
 */
final class NvlinkPairing {
    static final String V100_SXM2 = "10de:1db1";
    static final String NPU2 = "1014:04ea";
    private static final int MAX_PROPERTY_BYTES = 4096;

    private final SysfsRoot sysfs;

    NvlinkPairing(SysfsRoot sysfs) {
        this.sysfs = sysfs;
    }

    static boolean takesPart(int vendorId, int deviceId) {
        String id = String.format(Locale.ROOT, "%04x:%04x", vendorId, deviceId);
        return id.equals(V100_SXM2) || id.equals(NPU2);
    }

    /** The functions linked to {@code self} by NVLink2, sorted; {@code groupMembers} is self's IOMMU group. */
    List<PciAddress> peers(PciAddress self, int vendorId, int deviceId, List<PciAddress> groupMembers) {
        String selfId = String.format(Locale.ROOT, "%04x:%04x", vendorId, deviceId);
        String wanted = selfId.equals(V100_SXM2) ? NPU2 : V100_SXM2;
        String property = selfId.equals(V100_SXM2) ? "ibm,npu" : "ibm,gpu";
        Optional<Set<Integer>> linked = cells(self, property);
        List<PciAddress> peers = new ArrayList<>();
        for (PciAddress member : groupMembers) {
            if (member.equals(self) || !wanted.equals(id(member))) {
                continue;
            }
            if (linked.isEmpty() || cells(member, "phandle").map(handles -> handles.stream().anyMatch(linked.get()::contains)).orElse(false)) {
                peers.add(member);
            }
        }
        return List.copyOf(peers);
    }

    private String id(PciAddress address) {
        Path directory = sysfs.device(address);
        try {
            return strip(Files.readString(directory.resolve("vendor"), StandardCharsets.US_ASCII)) + ":"
                    + strip(Files.readString(directory.resolve("device"), StandardCharsets.US_ASCII));
        } catch (IOException e) {
            return "";
        }
    }

    private static String strip(String text) {
        String trimmed = text.trim().toLowerCase(Locale.ROOT);
        return trimmed.startsWith("0x") ? trimmed.substring(2) : trimmed;
    }

    /** A device-tree property of the function's {@code of_node} as big-endian 32-bit cells. */
    private Optional<Set<Integer>> cells(PciAddress address, String property) {
        Path file = sysfs.device(address).resolve("of_node").resolve(property);
        try {
            Path real = file.toRealPath();
            if (!real.startsWith(sysfs.root().toRealPath())) {
                return Optional.empty();
            }
            byte[] bytes = SysfsHostTopology.readBounded(real, MAX_PROPERTY_BYTES);
            Set<Integer> values = new HashSet<>();
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.remaining() >= 4) {
                values.add(buffer.getInt());
            }
            return Optional.of(values);
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
