package io.vfiotune.xml.transforms;

import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainTransform;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.PciAddress;
import io.vfiotune.spi.PciCapability;
import io.vfiotune.spi.PciFunction;
import io.vfiotune.spi.PeerToPeerPath;
import io.vfiotune.spi.TransformResult;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.spi.Version;
import io.vfiotune.spi.VfioPciProperty;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * GPUDirect clique IDs ({@code x-nv-gpudirect-clique}): what the user wrote per
 * device, plus, with {@code <vt:cliques mode="auto"/>}, IDs derived from which
 * GPUs of the domain can really reach each other peer to peer on this host.
 * Every device that gets an ID is checked against what QEMU will do with it, so
 * a start fails here, with the fix, and not inside QEMU.
 */
public final class GpuDirectCliqueTransform implements DomainTransform {
    static final String PROPERTY = VfioPciProperty.X_NV_GPUDIRECT_CLIQUE.qemuName();
    static final int MAX_ID = 15;
    /** QEMU tries these offsets for its 8-byte vendor capability; before 8.1 only the first. */
    static final int FIRST_OFFSET = 0xc8;
    static final int SECOND_OFFSET = 0xd4;
    static final int CAPABILITY_SIZE = 8;
    static final Version QEMU_WITH_FALLBACK_OFFSET = new Version(8, 1, 0);

    @Override
    public String name() {
        return "gpudirect-cliques";
    }

    @Override
    public int order() {
        return 100;
    }

    @Override
    public TransformResult plan(DomainView domain, HostTopology host) {
        List<Finding> findings = new ArrayList<>();
        Map<PciAddress, Integer> ids = new TreeMap<>();
        Map<PciAddress, HostdevView> hostdevs = new LinkedHashMap<>();
        domain.pciHostdevs().forEach(hostdev -> hostdevs.put(hostdev.source(), hostdev));
        Set<PciAddress> explicit = new TreeSet<>();
        for (TuneAnnotations.HostdevAnnotation annotation : domain.annotations().hostdevs()) {
            annotation.clique().ifPresent(clique -> {
                explicit.add(annotation.host());
                clique.id().ifPresent(id -> ids.put(annotation.host(), id));
            });
        }
        if (domain.annotations().cliques() == TuneAnnotations.CliqueMode.AUTO) {
            derive(domain, host, hostdevs, explicit, ids, findings);
        }
        List<DomainEdit> edits = new ArrayList<>();
        for (Map.Entry<PciAddress, Integer> entry : ids.entrySet()) {
            HostdevView hostdev = hostdevs.get(entry.getKey());
            if (hostdev == null) {
                continue; // the planner already refuses annotations for devices the domain does not pass through
            }
            if (check(hostdev, entry.getValue(), domain, host, findings)) {
                edits.add(VfioPciProperty.X_NV_GPUDIRECT_CLIQUE.set(entry.getKey(), Integer.toString(entry.getValue())));
            }
        }
        return new TransformResult(edits, findings);
    }

    /** QEMU's rules, checked on the host device; true when QEMU will accept the ID. */
    private static boolean check(HostdevView hostdev, int id, DomainView domain, HostTopology host, List<Finding> findings) {
        String subject = hostdev.source().toString();
        if (id < 0 || id > MAX_ID) {
            findings.add(Finding.error("CLIQUE-RANGE", subject, "clique " + id + " is outside 0-" + MAX_ID + " (QEMU stores it in 4 bits); pick an ID in 0-15"));
            return false;
        }
        Optional<PciFunction> found = PassthroughDevices.resolve(hostdev, host, "its clique", PassthroughDevices.Needs.CAPABILITIES, findings);
        if (found.isEmpty()) {
            return false;
        }
        PciFunction function = found.get();
        if (function.vendorId() != PciFunction.VENDOR_NVIDIA) {
            findings.add(Finding.error("CLIQUE-VENDOR", subject, String.format(Locale.ROOT,
                    "vendor %04x is not NVIDIA (10de); QEMU refuses GPUDirect cliques on it. Remove clique=\"%d\" from this device", function.vendorId(), id)));
            return false;
        }
        if (function.baseClass() != 0x03) {
            findings.add(Finding.error("CLIQUE-CLASS", subject, String.format(Locale.ROOT,
                    "class %06x is not a display controller (03xxxx); QEMU only gives cliques to GPUs. Remove clique=\"%d\" from this device", function.classCode(), id)));
            return false;
        }
        if (function.configBytes() < 0x100) {
            findings.add(Finding.error("CLIQUE-NO-ROOM", subject, "only " + function.configBytes()
                    + " bytes of its config space are readable, so the room for the clique capability is unknown; run vfio-tune as root"));
            return false;
        }
        boolean firstFree = function.isConfigRangeFree(FIRST_OFFSET, CAPABILITY_SIZE);
        boolean secondFree = function.isConfigRangeFree(SECOND_OFFSET, CAPABILITY_SIZE);
        if (!firstFree && !secondFree) {
            findings.add(Finding.error("CLIQUE-NO-ROOM", subject, "both places QEMU can put the 8-byte clique capability are taken (0xc8-0xcf by "
                    + occupants(function, FIRST_OFFSET) + ", 0xd4-0xdb by " + occupants(function, SECOND_OFFSET)
                    + "); this device cannot have a clique: set clique=\"none\" on it"));
            return false;
        }
        if (!firstFree) {
            Version qemu = host.facts().qemuVersion(domain.emulator());
            if (qemu.compareTo(QEMU_WITH_FALLBACK_OFFSET) < 0) {
                findings.add(Finding.error("CLIQUE-QEMU-OFFSET", subject, "QEMU " + qemu + " always puts the clique capability at 0xc8, where this device has "
                        + occupants(function, FIRST_OFFSET) + "; QEMU 8.1 or later falls back to 0xd4. Upgrade QEMU, or set clique=\"none\" on this device"));
                return false;
            }
        }
        return true;
    }

    private static String occupants(PciFunction function, int offset) {
        return function.capabilities().stream().filter(cap -> !cap.extended() && cap.overlaps(offset, CAPABILITY_SIZE))
                .map(GpuDirectCliqueTransform::describe).collect(Collectors.joining(", "));
    }

    private static String describe(PciCapability cap) {
        String name = switch (cap.id()) {
            case PciCapability.ID_MSIX -> "MSI-X";
            case 0x09 -> "a vendor-specific capability";
            default -> String.format(Locale.ROOT, "capability %02x", cap.id());
        };
        return String.format(Locale.ROOT, "%s at 0x%02x-0x%02x", name, cap.offset(), cap.offset() + cap.length() - 1);
    }

    /**
     * Derived cliques: GPUs joined when peer-to-peer between them is direct
     * (one switch, no ACS redirect; or NVLink), or through host bridges the
     * operator listed in {@code p2p-host-bridges}. Each group of two or more gets
     * the lowest ID no explicit clique uses, groups ordered by their lowest
     * address, so the same host and domain always give the same IDs.
     */
    private static void derive(DomainView domain, HostTopology host, Map<PciAddress, HostdevView> hostdevs, Set<PciAddress> explicit,
                               Map<PciAddress, Integer> ids, List<Finding> findings) {
        List<PciFunction> gpus = new ArrayList<>();
        for (HostdevView hostdev : hostdevs.values()) {
            if (explicit.contains(hostdev.source())) {
                continue;
            }
            Optional<PciFunction> function = host.function(hostdev.source());
            if (function.isEmpty() || PassthroughDevices.spoilingFault(function.get(), PassthroughDevices.Needs.CAPABILITIES).isPresent()) {
                // A device the probe cannot see whole might be a GPU; leaving it out of a clique silently would be a guess.
                PassthroughDevices.resolve(hostdev, host, "its peer-to-peer reach", PassthroughDevices.Needs.CAPABILITIES, findings);
                continue;
            }
            if (function.get().vendorId() == PciFunction.VENDOR_NVIDIA && function.get().baseClass() == 0x03) {
                gpus.add(function.get());
            }
        }
        Set<String> whitelisted = host.facts().peerToPeerHostBridges();
        int[] parent = new int[gpus.size()];
        for (int i = 0; i < parent.length; i++) {
            parent[i] = i;
        }
        for (int i = 0; i < gpus.size(); i++) {
            for (int j = i + 1; j < gpus.size(); j++) {
                if (canPeer(gpus.get(i), gpus.get(j), host, whitelisted)) {
                    parent[find(parent, j)] = find(parent, i);
                }
            }
        }
        Map<Integer, List<PciAddress>> groups = new TreeMap<>();
        for (int i = 0; i < gpus.size(); i++) {
            groups.computeIfAbsent(find(parent, i), key -> new ArrayList<>()).add(gpus.get(i).address());
        }
        List<List<PciAddress>> cliques = groups.values().stream().map(members -> members.stream().sorted().toList())
                .sorted((a, b) -> a.get(0).compareTo(b.get(0))).toList();
        Set<Integer> taken = new TreeSet<>(ids.values());
        int next = 0;
        for (List<PciAddress> members : cliques) {
            if (members.size() < 2) {
                findings.add(Finding.info("CLIQUE-SINGLETON", members.get(0).toString(),
                        "no other GPU of this domain can reach it peer to peer on this host, so it gets no clique (a clique of one is useless)"));
                continue;
            }
            while (taken.contains(next)) {
                next++;
            }
            if (next > MAX_ID) {
                findings.add(Finding.error("CLIQUE-EXHAUSTED", members.get(0).toString(), "more than 16 cliques would be needed; give some GPUs clique=\"none\""));
                return;
            }
            for (PciAddress member : members) {
                ids.put(member, next);
            }
            findings.add(Finding.info("CLIQUE-DERIVED", "clique " + next, members.stream().map(PciAddress::toString).collect(Collectors.joining(", "))
                    + " can reach each other peer to peer on this host"));
            taken.add(next);
        }
    }

    private static boolean canPeer(PciFunction a, PciFunction b, HostTopology host, Set<String> whitelisted) {
        PeerToPeerPath path = PeerToPeerPath.between(a, b, host);
        if (path.isDirect()) {
            return true;
        }
        boolean throughHostBridges = path.route() == PeerToPeerPath.Route.HOST_BRIDGE || path.route() == PeerToPeerPath.Route.ACROSS_HOST_BRIDGES;
        return throughHostBridges && whitelisted.contains(a.rootComplex()) && whitelisted.contains(b.rootComplex());
    }

    private static int find(int[] parent, int index) {
        while (parent[index] != index) {
            parent[index] = parent[parent[index]];
            index = parent[index];
        }
        return index;
    }
}
