package io.vfiotune.spi;

import io.vfiotune.pci.PciAddress;

import java.util.List;
import java.util.Optional;

/**
 * The validated content of a domain's {@code <vt:tune>} element, in plain Java
 * types. Defaults are already applied: an absent child reads as {@code OFF}.
 */
public record TuneAnnotations(
        OnMismatch onMismatch,
        CliqueMode cliques,
        MsixMode msixRelocation,
        PhbMode spaprPhbs,
        IgdMode igd,
        TopologyMode topology,
        GraceMode grace,
        List<HostdevAnnotation> hostdevs) {

    public enum OnMismatch { REFUSE, WARN }

    public enum CliqueMode { AUTO, OFF }

    public enum MsixMode { AUTO, OFF }

    public enum PhbMode { PER_IOMMU_GROUP, OFF }

    public enum IgdMode { AUTO, LEGACY, UPT, OFF }

    public enum TopologyMode { MIRROR, OFF }

    public enum GraceMode { AUTO, OFF }

    /** A domain without {@code <vt:tune>}: everything off. */
    public static final TuneAnnotations NONE = new TuneAnnotations(OnMismatch.REFUSE, CliqueMode.OFF, MsixMode.OFF, PhbMode.OFF, IgdMode.OFF, TopologyMode.OFF,
            GraceMode.OFF, List.of());

    public TuneAnnotations {
        hostdevs = List.copyOf(hostdevs);
    }

    public Optional<HostdevAnnotation> hostdev(PciAddress host) {
        return hostdevs.stream().filter(annotation -> annotation.host().equals(host)).findFirst();
    }

    /**
     * A per-device override.
     *
     * @param clique empty when not given; {@link Clique#none()} when the user wrote {@code none}
     * @param msixRelocation empty when not given; else {@code off}, {@code auto} or {@code bar0}..{@code bar5}
     */
    public record HostdevAnnotation(PciAddress host, Optional<Clique> clique, Optional<String> msixRelocation) {
    }

    /** An explicit clique: an ID in 0..15 (range-checked by the transform, so it can say which device) or none. */
    public record Clique(Optional<Integer> id) {
        public static Clique none() {
            return new Clique(Optional.empty());
        }

        public static Clique of(int id) {
            return new Clique(Optional.of(id));
        }
    }
}
