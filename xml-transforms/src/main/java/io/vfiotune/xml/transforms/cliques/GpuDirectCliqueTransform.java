package io.vfiotune.xml.transforms.cliques;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.platform.GpuDirectCliquePlacement;
import io.vfiotune.platform.PeerToPeerPath;
import io.vfiotune.platform.VfioPciProperty;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainTransform;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.QemuBackport;
import io.vfiotune.spi.Severity;
import io.vfiotune.spi.TransformResult;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.spi.Version;
import io.vfiotune.xml.transforms.layout.PassthroughDevices;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * GPUDirect clique IDs ({@code x-nv-gpudirect-clique}): what the user wrote per
 * device, plus, with {@code <vt:cliques mode="auto"/>}, IDs derived from which
 * GPUs of the domain can really reach each other peer to peer on this host.
 * Every device that gets an ID is checked against what QEMU will do with it, so
 * a start fails here, with the fix, and not inside QEMU.
 */
public final class GpuDirectCliqueTransform implements DomainTransform {
    static final int MAX_ID = 15;
    /** QEMU 8.2 removed NVLink2 passthrough for V100s on POWER9 (44fa20c92811); clique support itself is untouched. */
    static final Version QEMU_WITHOUT_NVLINK2 = new Version(8, 2, 0);

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
        GpuDirectCliquePlacement placement = GpuDirectCliquePlacement.of(function, fallsBackToD4(domain, host));
        Optional<Finding> refusal = refusal(function, placement, domain, host, true);
        if (refusal.isPresent()) {
            findings.add(refusal.get());
            return false;
        }
        for (GpuDirectCliquePlacement.Truncation truncation : placement.truncations()) {
            findings.add(Finding.warning("CLIQUE-TRUNCATES", subject, String.format(Locale.ROOT,
                    "QEMU puts the clique capability at 0x%02x, so it silently cuts %s to its first %d bytes (it sizes a device capability up to the next one"
                            + " already in place); the guest no longer sees the rest of it. The clique itself works",
                    placement.offset().getAsInt(), GpuDirectCliquePlacement.describe(truncation.capability()), truncation.keptBytes())));
        }
        return true;
    }

    /**
     * Why QEMU would fail to realize the device with a clique, as an error for an
     * ID the user gave or a warning for a derived one, which is only left out.
     */
    private static Optional<Finding> refusal(PciFunction function, GpuDirectCliquePlacement placement, DomainView domain, HostTopology host, boolean explicit) {
        Severity severity = explicit ? Severity.ERROR : Severity.WARNING;
        String subject = function.address().toString();
        String backport = "if this QEMU build has that fallback backported (upstream " + QemuBackport.GPUDIRECT_CLIQUE_D4.commit()
                + ", as in Oracle Linux's qemu-kvm 7.2.0-17), set qemu-backports=" + QemuBackport.GPUDIRECT_CLIQUE_D4.settingName() + " in vfio-tune.properties";
        if (placement.choice() == GpuDirectCliquePlacement.Choice.NONE) {
            return Optional.of(new Finding(severity, "CLIQUE-NO-ROOM", subject, "capabilities start at both places QEMU can put the 8-byte clique capability (0xc8: "
                    + occupants(function, GpuDirectCliquePlacement.FIRST_OFFSET) + "; 0xd4: " + occupants(function, GpuDirectCliquePlacement.SECOND_OFFSET)
                    + "), so QEMU fails with \"NVIDIA GPUDirect Clique ID: invalid config space\"; "
                    + (explicit ? "this device cannot have a clique: set clique=\"none\" on it" : "it is left out of the derived cliques")));
        }
        if (placement.collisions().isEmpty()) {
            return Optional.empty();
        }
        String reasons = placement.collisions().stream().map(GpuDirectCliquePlacement.Collision::reason).collect(Collectors.joining("; "));
        boolean fallbackWouldDo = placement.choice() == GpuDirectCliquePlacement.Choice.FIRST_WITHOUT_FALLBACK
                && GpuDirectCliquePlacement.of(function, () -> true).accepted();
        if (fallbackWouldDo) {
            Version qemu = host.facts().qemuVersion(domain.emulator());
            return Optional.of(new Finding(severity, "CLIQUE-QEMU-OFFSET", subject, "QEMU " + qemu + " always puts the clique capability at 0xc8, where this device has "
                    + occupants(function, GpuDirectCliquePlacement.FIRST_OFFSET) + "; QEMU 8.1 or later falls back to 0xd4. " + (explicit
                    ? "Upgrade QEMU; or, " + backport + "; or set clique=\"none\" on this device"
                    : "It is left out of the derived cliques; " + backport)));
        }
        String where = switch (placement.choice()) {
            case FIRST -> "at 0xc8 (no capability starts there)";
            case FIRST_WITHOUT_FALLBACK -> "at 0xc8 (before 8.1 it always does)";
            case SECOND -> "at 0xd4 (a capability starts at 0xc8)";
            case NONE -> throw new IllegalStateException("handled above");
        };
        return Optional.of(new Finding(severity, "CLIQUE-COLLISION", subject, "QEMU puts the 8-byte clique capability " + where + " before the device's own, and then fails to add "
                + "the ones in its way: " + reasons + " (pci_add_capability: \"Attempt to add PCI capability ... overlaps existing capability\"); "
                + (explicit ? "this device cannot have a clique: set clique=\"none\" on it" : "it is left out of the derived cliques")));
    }

    private static BooleanSupplier fallsBackToD4(DomainView domain, HostTopology host) {
        return () -> host.facts().qemuHas(QemuBackport.GPUDIRECT_CLIQUE_D4, domain.emulator());
    }

    private static String occupants(PciFunction function, int offset) {
        return GpuDirectCliquePlacement.startingAt(function, offset).stream().map(GpuDirectCliquePlacement::describe).collect(Collectors.joining(", "));
    }

    /**
     * Derived cliques: sets of GPUs in which every pair can reach each other peer
     * to peer (direct in a switch, NVLink2 on QEMU before 8.2, or through host
     * bridges the operator listed in {@code p2p-host-bridges}). Peering is not
     * transitive, so the largest such set is taken first (ties: the one with the
     * lowest addresses), then the largest of the rest, and so on. GPUs QEMU
     * cannot give a clique are left out, with a warning, before the sets are
     * formed. Each set of two or more gets the lowest ID no explicit clique uses,
     * sets ordered by their lowest address, so the same host and domain always
     * give the same IDs.
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
        gpus.sort((a, b) -> a.address().compareTo(b.address()));
        boolean[][] peers = peers(gpus, domain, host, findings);

        List<Integer> eligible = new ArrayList<>();
        Set<Integer> leftOut = new TreeSet<>();
        for (int i = 0; i < gpus.size(); i++) {
            int gpu = i;
            boolean hasPeer = IntStream.range(0, gpus.size()).anyMatch(other -> peers[gpu][other]);
            Optional<Finding> refusal = hasPeer && gpus.get(i).configBytes() >= 0x100
                    ? refusal(gpus.get(i), GpuDirectCliquePlacement.of(gpus.get(i), fallsBackToD4(domain, host)), domain, host, false)
                    : Optional.empty();
            if (refusal.isPresent()) {
                findings.add(refusal.get());
                leftOut.add(i);
            } else {
                eligible.add(i);
            }
        }

        List<List<Integer>> cliques = new ArrayList<>();
        List<Integer> remaining = new ArrayList<>(eligible);
        while (!remaining.isEmpty()) {
            List<Integer> largest = largestClique(remaining, peers);
            cliques.add(largest);
            remaining.removeAll(largest);
        }
        cliques.sort((a, b) -> Integer.compare(a.get(0), b.get(0)));

        Set<Integer> taken = new TreeSet<>(ids.values());
        int next = 0;
        for (List<Integer> members : cliques) {
            if (members.size() < 2) {
                int gpu = members.get(0);
                findings.add(Finding.info("CLIQUE-SINGLETON", gpus.get(gpu).address().toString(), singletonReason(gpu, gpus, peers, leftOut, cliques)));
                continue;
            }
            while (taken.contains(next)) {
                next++;
            }
            if (next > MAX_ID) {
                findings.add(Finding.error("CLIQUE-EXHAUSTED", gpus.get(members.get(0)).address().toString(), "more than 16 cliques would be needed; give some GPUs clique=\"none\""));
                return;
            }
            for (int member : members) {
                ids.put(gpus.get(member).address(), next);
            }
            findings.add(Finding.info("CLIQUE-DERIVED", "clique " + next, addresses(members, gpus) + " can reach each other peer to peer on this host"));
            taken.add(next);
        }
    }

    private static String singletonReason(int gpu, List<PciFunction> gpus, boolean[][] peers, Set<Integer> leftOut, List<List<Integer>> cliques) {
        List<Integer> reached = IntStream.range(0, gpus.size()).filter(other -> peers[gpu][other]).boxed().toList();
        if (reached.isEmpty()) {
            return "no other GPU of this domain can reach it peer to peer on this host, so it gets no clique (a clique of one is useless)";
        }
        if (leftOut.containsAll(reached)) {
            return "it reaches only " + addresses(reached, gpus) + " peer to peer, which cannot take a clique here (see above), so it gets no clique (a clique of one is useless)";
        }
        // Its peers went into cliques with GPUs it cannot reach: name those, they are why it stays out.
        List<Integer> unreached = cliques.stream().filter(clique -> clique.stream().anyMatch(reached::contains)).flatMap(List::stream)
                .filter(member -> !peers[gpu][member]).distinct().sorted().toList();
        return "it reaches " + addresses(reached, gpus) + " peer to peer, but not " + addresses(unreached, gpus)
                + " in the same clique, and every pair in a clique must peer; so it gets no clique";
    }

    private static String addresses(List<Integer> members, List<PciFunction> gpus) {
        return members.stream().map(member -> gpus.get(member).address().toString()).collect(Collectors.joining(", "));
    }

    /** Which pairs of {@code gpus} can reach each other peer to peer, with a warning where only NVLink2 joined them and this QEMU no longer passes it through. */
    private static boolean[][] peers(List<PciFunction> gpus, DomainView domain, HostTopology host, List<Finding> findings) {
        Set<String> whitelisted = host.facts().peerToPeerHostBridges();
        boolean[][] peers = new boolean[gpus.size()][gpus.size()];
        Map<Integer, Set<PciAddress>> nvlinkOnly = new TreeMap<>();
        Optional<Boolean> nvlinkPassedThrough = Optional.empty();
        for (int i = 0; i < gpus.size(); i++) {
            for (int j = i + 1; j < gpus.size(); j++) {
                PciFunction a = gpus.get(i);
                PciFunction b = gpus.get(j);
                PeerToPeerPath path = PeerToPeerPath.between(a, b, host);
                boolean peer;
                if (path.route() == PeerToPeerPath.Route.NVLINK) {
                    if (nvlinkPassedThrough.isEmpty()) {
                        nvlinkPassedThrough = Optional.of(host.facts().qemuVersion(domain.emulator()).compareTo(QEMU_WITHOUT_NVLINK2) < 0);
                    }
                    peer = nvlinkPassedThrough.get() || overPcie(PeerToPeerPath.overPcie(a, b, host), a, b, whitelisted);
                    if (!peer) {
                        Set<PciAddress> members = nvlinkOnly.computeIfAbsent(a.iommuGroup().getAsInt(), group -> new TreeSet<>());
                        members.add(a.address());
                        members.add(b.address());
                    }
                } else {
                    peer = overPcie(path, a, b, whitelisted);
                }
                peers[i][j] = peer;
                peers[j][i] = peer;
            }
        }
        nvlinkOnly.forEach((group, members) -> findings.add(Finding.warning("CLIQUE-NVLINK2", "IOMMU group " + group, members.stream().map(PciAddress::toString)
                .collect(Collectors.joining(", ")) + " are NVLink2 peers, but QEMU " + host.facts().qemuVersion(domain.emulator()) + " has no NVLink2 passthrough (removed in 8.2,"
                + " commit 44fa20c92811), so the guest learns nothing of the links and vfio-tune derives no clique from them; over PCIe they do not peer here (see"
                + " 'vfio-tune probe'). Give them clique IDs yourself if you know the guest driver uses the links")));
        return peers;
    }

    private static boolean overPcie(PeerToPeerPath path, PciFunction a, PciFunction b, Set<String> whitelisted) {
        if (path.isDirect()) {
            return true;
        }
        return path.goesThroughHostBridge() && whitelisted.contains(a.rootComplex()) && whitelisted.contains(b.rootComplex());
    }

    /**
     * The largest set of {@code candidates} in which every pair peers; among sets
     * of that size the first in address order (candidates are in address order,
     * the search takes lower ones first and replaces only on a strictly larger find).
     */
    static List<Integer> largestClique(List<Integer> candidates, boolean[][] peers) {
        List<Integer> best = new ArrayList<>();
        extend(new ArrayList<>(), candidates, peers, best);
        return List.copyOf(best);
    }

    private static void extend(List<Integer> chosen, List<Integer> candidates, boolean[][] peers, List<Integer> best) {
        if (candidates.isEmpty()) {
            if (chosen.size() > best.size()) {
                best.clear();
                best.addAll(chosen);
            }
            return;
        }
        for (int k = 0; k < candidates.size(); k++) {
            if (chosen.size() + candidates.size() - k <= best.size()) {
                return; // even taking every candidate left cannot beat what was found
            }
            int candidate = candidates.get(k);
            List<Integer> compatible = candidates.subList(k + 1, candidates.size()).stream().filter(other -> peers[candidate][other]).toList();
            chosen.add(candidate);
            extend(chosen, compatible, peers, best);
            chosen.remove(chosen.size() - 1);
        }
    }
}
