package io.vfiotune.report;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciBar;
import io.vfiotune.pci.PciCapability;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.pci.PciePortType;
import io.vfiotune.platform.GpuDirectCliquePlacement;
import io.vfiotune.platform.IntelGraphics;
import io.vfiotune.platform.MsixPlatform;
import io.vfiotune.platform.MsixRelocation;
import io.vfiotune.platform.NvidiaGraceGpu;
import io.vfiotune.platform.PeerToPeerPath;
import io.vfiotune.probe.sysfs.PciIds;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.Version;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.spi.VfioVgaAccess;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Renders what the probe sees, as text for people and JSON for scripts. Both show the same
 * facts, but for the free config space at the two offsets QEMU tries for the clique capability,
 * which JSON keeps as {@code cliqueRoom} for scripts and the text leaves to the clique placement
 * line, which says where QEMU really puts it.
 * <p>One file over 350 lines on purpose: the text and the JSON are written side by side from the
 * same derived answers, so that a fact added to one cannot be missed in the other.
 */
public final class ProbeReport {
    private final HostTopology topology;
    private final long pageSize;
    private final PciIds names;
    private final MsixPlatform msixPlatform;

    public ProbeReport(HostTopology topology, long pageSize, PciIds names) {
        this.topology = topology;
        this.pageSize = pageSize;
        this.names = names;
        this.msixPlatform = msixPlatform(topology, pageSize);
    }

    /**
     * The guests the MSI-X decision is for. KVM on POWER runs only pseries guests,
     * whose table QEMU never traps; elsewhere the table is trapped. The QEMU version
     * is the pinned one, if any: probe never runs QEMU, and without a version the
     * decision is the one for a current QEMU, as the plan's is for one.
     */
    private static MsixPlatform msixPlatform(HostTopology topology, long pageSize) {
        Supplier<Optional<Version>> qemu = () -> {
            try {
                return Optional.of(topology.facts().qemuVersion(Optional.empty()));
            } catch (VfioTuneException notPinned) {
                return Optional.empty();
            }
        };
        return topology.facts().architecture().startsWith("ppc64") ? MsixPlatform.pseries(pageSize, qemu) : MsixPlatform.trappingTable(pageSize, qemu);
    }

    /** Empty without MSI-X, and when the BAR sizes could not be read, where the plan refuses the device (HOSTDEV-UNREADABLE). */
    private Optional<MsixRelocation.Advice> msixAdvice(PciFunction function) {
        return barSizesKnown(function) ? MsixRelocation.advise(function, msixPlatform, topology.facts().msixKnownGood()) : Optional.empty();
    }

    private static boolean barSizesKnown(PciFunction function) {
        return function.faults().stream().noneMatch(fault -> fault.code().equals("PROBE-NO-RESOURCE") || fault.code().equals("PROBE-BAD-RESOURCE"));
    }

    public String text(List<PciFunction> functions) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "host: arch %s, page size %d%n", topology.facts().architecture(), pageSize));
        for (PciFunction function : functions) {
            out.append(String.format(Locale.ROOT, "%n%s %04x:%04x class %06x%s%n", function.address(), function.vendorId(), function.deviceId(), function.classCode(),
                    names.name(function.vendorId(), function.deviceId()).map(name -> " " + name).orElse("")));
            out.append("  driver: ").append(function.driver().orElse("none")).append('\n');
            out.append("  iommu group: ").append(function.iommuGroup().isPresent() ? function.iommuGroup().getAsInt() + " " + groupMembers(function) : "none").append('\n');
            out.append("  numa node: ").append(function.numaNode().isPresent() ? Integer.toString(function.numaNode().getAsInt()) : "none").append('\n');
            out.append("  upstream: ").append(function.upstream().stream().map(this::describeBridge).map(text -> text + " <- ").collect(Collectors.joining()))
                    .append(function.rootComplex()).append('\n');
            switchAbove(function).ifPresent(port -> out.append("  switch: upstream port ").append(port).append('\n'));
            if (!function.nvlinks().isEmpty()) {
                out.append("  nvlink2: ").append(function.nvlinks().stream().map(PciAddress::toString).collect(Collectors.joining(", "))).append('\n');
            }
            for (PciBar bar : function.bars()) {
                if (bar.kind() != PciBar.Kind.EMPTY) {
                    out.append(String.format(Locale.ROOT, "  bar%d: %s%s size 0x%x%n", bar.index(), kind(bar), bar.prefetchable() ? " prefetchable" : "", bar.size()));
                }
            }
            out.append("  capabilities: ").append(function.capabilities().stream().map(cap -> String.format(Locale.ROOT, cap.extended() ? "[%03x] %04x" : "[%02x] %02x", cap.offset(), cap.id()))
                    .collect(Collectors.joining(" "))).append('\n');
            function.msix().ifPresent(msix -> out.append(String.format(Locale.ROOT, "  msi-x: %d vectors, table bar%d+0x%x, pba bar%d+0x%x%n",
                    msix.vectors(), msix.tableBar(), msix.tableOffset(), msix.pbaBar(), msix.pbaOffset())));
            if (function.msix().isPresent() && !barSizesKnown(function)) {
                out.append("  msi-x relocation: undecided, the BAR sizes are unreadable\n");
            }
            msixAdvice(function).ifPresent(advice -> out.append("  msi-x relocation at ").append(pageSize).append("-byte pages")
                    .append(msixPlatform.tableTrapped() ? "" : " for pseries guests").append(": ").append(advice.value())
                    .append(advice.bar().isPresent() ? " (" + advice.source() + "); " : "; ").append(advice.evidence()).append('\n'));
            cliquePlacements(function).ifPresent(placements -> out.append("  clique placement: QEMU >= 8.1 ").append(describe(placements.get(0)))
                    .append("; QEMU < 8.1 ").append(describe(placements.get(1))).append('\n'));
            grace(function).ifPresent(grace -> {
                out.append("  grace: ").append(describeGrace(grace)).append('\n');
                grace.findings().forEach(finding -> out.append("  ").append(finding.severity().name().toLowerCase(Locale.ROOT))
                        .append(": [").append(finding.code()).append("] ").append(finding.message()).append('\n'));
            });
            IntelGraphics.igd(function).ifPresent(igd -> out.append("  igd: ").append(describeIgd(igd, topology.vfioVgaAccess())).append('\n'));
            function.portType().ifPresent(type -> out.append("  pcie: ").append(type.name().toLowerCase(Locale.ROOT)).append('\n'));
            function.acs().ifPresent(acs -> out.append("  acs: ").append(acs.redirectsPeerToPeer() ? "redirects peer-to-peer" : "no redirect").append('\n'));
            for (Finding fault : function.faults()) {
                out.append("  fault: [").append(fault.code()).append("] ").append(fault.message()).append('\n');
            }
        }
        List<PeerPair> pairs = peerPairs(functions);
        if (!pairs.isEmpty()) {
            out.append("\npeer-to-peer between GPUs:\n");
            for (PeerPair pair : pairs) {
                out.append("  ").append(pair.a()).append(" <-> ").append(pair.b()).append(": ").append(pair.route()).append(pair.path().isDirect() ? ", direct" : ", through host bridges (peers only if p2p-host-bridges lists them)")
                        .append(pair.path().redirectingPorts().isEmpty() ? "" : ", ACS redirect at " + pair.path().redirectingPorts().stream()
                                .map(PciAddress::toString).collect(Collectors.joining(" "))).append('\n');
            }
        }
        return out.toString();
    }

    public String json(List<PciFunction> functions) {
        StringBuilder out = new StringBuilder();
        out.append("{\"arch\":").append(quote(topology.facts().architecture())).append(",\"pageSize\":").append(pageSize)
                .append(",\"msixTableTrapped\":").append(msixPlatform.tableTrapped()).append(",\"functions\":[");
        for (int i = 0; i < functions.size(); i++) {
            PciFunction function = functions.get(i);
            out.append(i == 0 ? "" : ",").append("\n {");
            out.append("\"address\":").append(quote(function.address().toString()));
            out.append(String.format(Locale.ROOT, ",\"vendor\":\"%04x\",\"device\":\"%04x\",\"class\":\"%06x\"", function.vendorId(), function.deviceId(), function.classCode()));
            out.append(",\"driver\":").append(function.driver().map(ProbeReport::quote).orElse("null"));
            out.append(",\"iommuGroup\":").append(function.iommuGroup().isPresent() ? Integer.toString(function.iommuGroup().getAsInt()) : "null");
            out.append(",\"iommuGroupMembers\":").append(function.iommuGroup().isPresent() ? topology.iommuGroupMembers(function.iommuGroup().getAsInt()).stream()
                    .map(address -> quote(address.toString())).collect(Collectors.joining(",", "[", "]")) : "[]");
            out.append(",\"numaNode\":").append(function.numaNode().isPresent() ? Integer.toString(function.numaNode().getAsInt()) : "null");
            out.append(",\"name\":").append(names.name(function.vendorId(), function.deviceId()).map(ProbeReport::quote).orElse("null"));
            out.append(",\"rootComplex\":").append(quote(function.rootComplex()));
            out.append(",\"switchUpstreamPort\":").append(switchAbove(function).map(address -> quote(address.toString())).orElse("null"));
            out.append(",\"nvlinks\":").append(function.nvlinks().stream().map(address -> quote(address.toString())).collect(Collectors.joining(",", "[", "]")));
            out.append(",\"upstream\":").append(function.upstream().stream().map(address -> quote(address.toString())).collect(Collectors.joining(",", "[", "]")));
            out.append(",\"portType\":").append(function.portType().map(type -> quote(type.name().toLowerCase(Locale.ROOT))).orElse("null"));
            out.append(",\"acsRedirect\":").append(function.acs().map(acs -> Boolean.toString(acs.redirectsPeerToPeer())).orElse("null"));
            out.append(",\"bars\":").append(function.bars().stream().filter(bar -> bar.kind() != PciBar.Kind.EMPTY)
                    .map(bar -> String.format(Locale.ROOT, "{\"index\":%d,\"kind\":%s,\"prefetchable\":%b,\"size\":%d}", bar.index(), quote(kind(bar)), bar.prefetchable(), bar.size()))
                    .collect(Collectors.joining(",", "[", "]")));
            out.append(",\"capabilities\":").append(function.capabilities().stream().map(ProbeReport::capability).collect(Collectors.joining(",", "[", "]")));
            out.append(",\"msix\":").append(function.msix().map(msix -> String.format(Locale.ROOT,
                    "{\"offset\":%d,\"vectors\":%d,\"tableBar\":%d,\"tableOffset\":%d,\"pbaBar\":%d,\"pbaOffset\":%d}",
                    msix.capabilityOffset(), msix.vectors(), msix.tableBar(), msix.tableOffset(), msix.pbaBar(), msix.pbaOffset())).orElse("null"));
            Optional<MsixRelocation.Advice> advice = msixAdvice(function);
            out.append(",\"msixRelocationHelps\":").append(advice.map(value -> Boolean.toString(value.verdict().helps())).orElse("null"));
            out.append(",\"msixRelocation\":").append(advice.map(value -> "{\"value\":" + quote(value.value()) + ",\"source\":" + quote(value.source())
                    + ",\"need\":" + quote(value.verdict().need().name().toLowerCase(Locale.ROOT).replace('_', '-')) + "}").orElse("null"));
            out.append(",\"cliqueRoom\":{\"0xc8\":").append(function.isConfigRangeFree(0xc8, 8)).append(",\"0xd4\":").append(function.isConfigRangeFree(0xd4, 8)).append('}');
            out.append(",\"cliquePlacement\":").append(cliquePlacements(function).map(placements -> "{\"withD4Fallback\":" + json(placements.get(0))
                    + ",\"withoutD4Fallback\":" + json(placements.get(1)) + "}").orElse("null"));
            out.append(",\"igd\":").append(IntelGraphics.igd(function).map(igd -> {
                OptionalInt generation = IntelGraphics.generation(igd.deviceId());
                VfioVgaAccess vga = topology.vfioVgaAccess();
                return String.format(Locale.ROOT, "{\"generation\":%s,\"vga\":%b,\"vgaAccess\":%s,\"legacyCapable\":%b}",
                        generation.isPresent() ? Integer.toString(generation.getAsInt()) : "null", IntelGraphics.displayClass(igd) == IntelGraphics.CLASS_VGA,
                        quote(vgaAccess(vga)), legacyBlocker(igd, vga).isEmpty());
            }).orElse("null"));
            out.append(",\"grace\":").append(grace(function).map(ProbeReport::graceJson).orElse("null"));
            out.append(",\"faults\":").append(function.faults().stream().map(fault -> "{\"code\":" + quote(fault.code()) + ",\"message\":" + quote(fault.message()) + "}")
                    .collect(Collectors.joining(",", "[", "]")));
            out.append('}');
        }
        out.append("\n],\"peerToPeer\":[");
        List<PeerPair> pairs = peerPairs(functions);
        for (int i = 0; i < pairs.size(); i++) {
            PeerPair pair = pairs.get(i);
            out.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%n {\"a\":%s,\"b\":%s,\"route\":%s,\"direct\":%b,\"redirectingPorts\":%s}",
                    quote(pair.a().toString()), quote(pair.b().toString()), quote(pair.route()), pair.path().isDirect(),
                    pair.path().redirectingPorts().stream().map(address -> quote(address.toString())).collect(Collectors.joining(",", "[", "]"))));
        }
        return out.append("\n]}\n").toString();
    }

    /**
     * Where QEMU would put the clique capability with and without the 0xd4
     * fallback (QEMU 8.1, or a backport), for NVIDIA GPUs whose standard config
     * space was read: QEMU gives cliques to nothing else.
     */
    private static Optional<List<GpuDirectCliquePlacement>> cliquePlacements(PciFunction function) {
        if (function.vendorId() != PciFunction.VENDOR_NVIDIA || function.baseClass() != 0x03 || function.configBytes() < 0x100) {
            return Optional.empty();
        }
        return Optional.of(List.of(GpuDirectCliquePlacement.of(function, () -> true), GpuDirectCliquePlacement.of(function, () -> false)));
    }

    private static String describe(GpuDirectCliquePlacement placement) {
        if (placement.offset().isEmpty()) {
            return "no room (capabilities start at 0xc8 and 0xd4)";
        }
        String where = String.format(Locale.ROOT, "at 0x%02x, ", placement.offset().getAsInt());
        if (!placement.collisions().isEmpty()) {
            return where + "fails: " + placement.collisions().stream().map(GpuDirectCliquePlacement.Collision::reason).collect(Collectors.joining(", "));
        }
        return where + "accepted" + placement.truncations().stream().map(truncation -> String.format(Locale.ROOT, ", cuts %s to %d bytes",
                GpuDirectCliquePlacement.describe(truncation.capability()), truncation.keptBytes())).collect(Collectors.joining());
    }

    private static String json(GpuDirectCliquePlacement placement) {
        return String.format(Locale.ROOT, "{\"offset\":%s,\"accepted\":%b,\"collisions\":%s,\"truncations\":%s}",
                placement.offset().isPresent() ? Integer.toString(placement.offset().getAsInt()) : "null", placement.accepted(),
                placement.collisions().stream().map(collision -> String.format(Locale.ROOT, "{\"id\":%d,\"offset\":%d,\"startsInside\":%b}",
                        collision.capability().id(), collision.capability().offset(), collision.startsInside())).collect(Collectors.joining(",", "[", "]")),
                placement.truncations().stream().map(truncation -> String.format(Locale.ROOT, "{\"id\":%d,\"offset\":%d,\"keptBytes\":%d}",
                        truncation.capability().id(), truncation.capability().offset(), truncation.keptBytes())).collect(Collectors.joining(",", "[", "]")));
    }

    /**
     * One line: model, layout (from the DVSEC bit), where the fake BARs go and their sizes when known,
     * the physical BAR2 on the GB layout (what the guest gets there), the binding and the host node.
     */
    static String describeGrace(NvidiaGraceGpu grace) {
        StringBuilder out = new StringBuilder(grace.model()).append(" (").append(grace.layout()).append(", ");
        Optional<NvidiaGraceGpu.PresentedBars> sizes = grace.presented();
        if (grace.resmemExpected()) {
            out.append("resmem ").append(sizes.map(bars -> size(bars.resmemBarSize()) + " ").orElse("")).append("at bar2, ");
        } else {
            out.append(grace.hostBar(NvidiaGraceGpu.RESMEM_BAR).map(bar -> "physical bar2 " + size(bar.size()) + " passed through, ").orElse("no bar2, "));
        }
        out.append("usemem ").append(sizes.map(bars -> size(bars.usememBarSize()) + " ").orElse("")).append("at bar4");
        if (sizes.isEmpty()) {
            out.append("; sizes not in sysfs, the driver presents them through VFIO only: declare the device memory with grace-device-memory");
        }
        out.append(grace.dvsecFound() ? "" : "; no NVIDIA DVSEC 3").append("), driver ").append(grace.driver().orElse("none"));
        out.append(", host node ").append(grace.hostNode().isPresent() ? Integer.toString(grace.hostNode().getAsInt()) : "none");
        return out.toString();
    }

    /** The Grace GPU a function is, with the device memory the host settings declare for it. */
    private Optional<NvidiaGraceGpu> grace(PciFunction function) {
        return NvidiaGraceGpu.of(function).map(gpu -> gpu.withDeclaredMemory(topology.facts().graceDeviceMemory()));
    }

    private static String graceJson(NvidiaGraceGpu grace) {
        Optional<NvidiaGraceGpu.PresentedBars> sizes = grace.presented();
        return String.format(Locale.ROOT, "{\"model\":%s,\"generation\":%s,\"layout\":%s,\"dvsec\":%b,\"resmemExpected\":%b,\"binding\":%s,\"driver\":%s,"
                        + "\"hostNode\":%s,\"hostBar2Size\":%s,\"usememBarSize\":%s,\"resmemBarSize\":%s,\"findings\":%s}",
                quote(grace.model()), quote(grace.generation().name()), quote(grace.resmemExpected() ? "gh" : "gb"), grace.dvsecFound(), grace.resmemExpected(),
                quote(grace.binding().name().toLowerCase(Locale.ROOT).replace('_', '-')), grace.driver().map(ProbeReport::quote).orElse("null"),
                grace.hostNode().isPresent() ? Integer.toString(grace.hostNode().getAsInt()) : "null",
                grace.hostBar(NvidiaGraceGpu.RESMEM_BAR).map(bar -> Long.toString(bar.size())).orElse("null"),
                sizes.map(bars -> Long.toString(bars.usememBarSize())).orElse("null"),
                sizes.filter(bars -> grace.resmemExpected()).map(bars -> Long.toString(bars.resmemBarSize())).orElse("null"),
                grace.findings().stream().map(finding -> "{\"severity\":" + quote(finding.severity().name().toLowerCase(Locale.ROOT)) + ",\"code\":" + quote(finding.code())
                        + ",\"message\":" + quote(finding.message()) + "}").collect(Collectors.joining(",", "[", "]")));
    }

    /** 1G, 128G, 16M: the largest binary unit that divides the size. */
    private static String size(long bytes) {
        String[] units = {"", "K", "M", "G", "T"};
        int unit = 0;
        while (unit < units.length - 1 && bytes >= 1024 && bytes % 1024 == 0) {
            bytes /= 1024;
            unit++;
        }
        return bytes + units[unit];
    }

    /**
     * What the hardware allows, with the generation as i915 counts it; whether a
     * given QEMU's device-ID table knows the ID is the plan's business, since only
     * the domain names its emulator.
     */
    private static String describeIgd(PciFunction igd, VfioVgaAccess vgaAccess) {
        OptionalInt generation = IntelGraphics.generation(igd.deviceId());
        boolean vga = IntelGraphics.displayClass(igd) == IntelGraphics.CLASS_VGA;
        String legacy = legacyBlocker(igd, vgaAccess).map(blocker -> "universal passthrough only (legacy mode needs " + blocker + ")")
                .orElse("legacy mode possible on i440fx with SeaBIOS");
        return (generation.isPresent() ? "generation " + generation.getAsInt() : "unknown generation") + ", " + (vga ? "VGA" : "non-VGA display")
                + ", vfio-pci VGA access " + describe(vgaAccess) + ", " + legacy;
    }

    /** What of the host's side rules legacy mode out, in the order the text names it; empty when nothing does. */
    private static Optional<String> legacyBlocker(PciFunction igd, VfioVgaAccess vga) {
        if (!IntelGraphics.legacyCapableGeneration(IntelGraphics.generation(igd.deviceId()))) {
            return Optional.of("generation 6-9");
        }
        if (IntelGraphics.displayClass(igd) != IntelGraphics.CLASS_VGA) {
            return Optional.of("VGA class 0300");
        }
        return vga.unavailable() ? Optional.of("VGA access through vfio-pci") : Optional.empty();
    }

    private static String vgaAccess(VfioVgaAccess access) {
        return switch (access) {
            case AVAILABLE -> "available";
            case DISABLED -> "disabled";
            case NOT_BUILT_IN -> "not-built-in";
            case UNKNOWN -> "unknown";
        };
    }

    private static String describe(VfioVgaAccess access) {
        return switch (access) {
            case AVAILABLE -> "available (disable_vga=N)";
            case DISABLED -> "disabled (disable_vga=Y)";
            case NOT_BUILT_IN -> "not built in (no CONFIG_VFIO_PCI_VGA)";
            case UNKNOWN -> "unknown (vfio_pci not loaded)";
        };
    }

    /** The upstream port of the nearest switch above the function. */
    private Optional<PciAddress> switchAbove(PciFunction function) {
        return function.upstream().stream()
                .filter(address -> topology.function(address).flatMap(PciFunction::portType).filter(type -> type == PciePortType.SWITCH_UPSTREAM).isPresent())
                .findFirst();
    }

    private record PeerPair(PciAddress a, PciAddress b, PeerToPeerPath path) {
        String route() {
            return path.route().name().toLowerCase(Locale.ROOT);
        }
    }

    /** Every pair of display-class functions shown, with the route between them. */
    private List<PeerPair> peerPairs(List<PciFunction> functions) {
        List<PciFunction> gpus = functions.stream().filter(function -> function.baseClass() == 0x03).toList();
        List<PeerPair> pairs = new ArrayList<>();
        for (int i = 0; i < gpus.size(); i++) {
            for (int j = i + 1; j < gpus.size(); j++) {
                pairs.add(new PeerPair(gpus.get(i).address(), gpus.get(j).address(), PeerToPeerPath.between(gpus.get(i), gpus.get(j), topology)));
            }
        }
        return pairs;
    }

    private String groupMembers(PciFunction function) {
        return topology.iommuGroupMembers(function.iommuGroup().getAsInt()).stream().map(PciAddress::toString).collect(Collectors.joining(", ", "(", ")"));
    }

    private String describeBridge(PciAddress address) {
        return topology.function(address).flatMap(PciFunction::portType).map(type -> address + " " + type.name().toLowerCase(Locale.ROOT)).orElse(address.toString());
    }

    private static String capability(PciCapability cap) {
        return String.format(Locale.ROOT, "{\"id\":%d,\"offset\":%d,\"length\":%d,\"extended\":%b}", cap.id(), cap.offset(), cap.length(), cap.extended());
    }

    private static String kind(PciBar bar) {
        return switch (bar.kind()) {
            case IO -> "io";
            case MEMORY_32 -> "mem32";
            case MEMORY_64 -> "mem64";
            case MEMORY_64_UPPER_HALF -> "mem64-upper";
            case EMPTY -> "empty";
        };
    }

    static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
