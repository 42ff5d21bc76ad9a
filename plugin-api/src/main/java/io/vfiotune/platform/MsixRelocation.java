package io.vfiotune.platform;

import io.vfiotune.pci.PciBar;
import io.vfiotune.pci.PciFunction;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Where QEMU's {@code x-msix-relocation} may put a device's MSI-X table, and
 * where it should. QEMU's own {@code auto} has an empty lookup table and always
 * fails, so the choice is made here from the device's real BARs.
 */
public final class MsixRelocation {
    /** A 32-bit BAR is doubled to hold the table; it must stay below 4 GiB, so it can be at most 1 GiB (QEMU's rule). */
    static final long MAX_DOUBLABLE_32_BIT = 1L << 30;

    /**
     * Device/BAR choices validated on real hardware, which win over the computed
     * one because guest drivers can assume things about particular BARs.
     * SM2262-class NVMe (table and PBA overlap) works with bar2: see
     * ../shared/reference/platform-facts.md, section 4.
     */
    public static final Map<String, Integer> SHIPPED_KNOWN_GOOD = Map.of("126f:2262", 2);

    private MsixRelocation() {
    }

    /** Why QEMU would reject a target BAR: a stable finding code and the reason. */
    public record Rejection(String code, String reason) {
    }

    /** What the advisor concluded. */
    public enum Outcome {
        NOT_NEEDED,
        RELOCATE,
        /** Relocation would help, but no BAR slot can take the table. */
        NO_TARGET,
        /** QEMU refuses the device, and this QEMU lets no relocation change that. */
        QEMU_TOO_OLD
    }

    /**
     * A decision for one device: the outcome, the BAR when relocating, where the
     * choice came from, the verdict it rests on, and the evidence for findings.
     */
    public record Advice(Outcome outcome, Optional<Integer> bar, String source, MsixVerdict verdict, String evidence) {
        public String value() {
            return bar.map(index -> "bar" + index).orElse("off");
        }
    }

    /**
     * Why QEMU would reject {@code barN} for a device with MSI-X; empty when it is
     * acceptable. QEMU checks nothing for a device without MSI-X: it returns before
     * relocating, and the device starts whatever {@code barN} says.
     */
    public static Optional<Rejection> rejection(PciFunction function, int index) {
        PciBar bar = function.bar(index).orElse(new PciBar(index, PciBar.Kind.EMPTY, false, 0));
        if (bar.kind() == PciBar.Kind.IO) {
            return Optional.of(new Rejection("MSIX-IO-BAR", "BAR" + index + " is an I/O BAR; QEMU can only relocate the MSI-X table into memory"));
        }
        if (bar.kind() == PciBar.Kind.MEMORY_64_UPPER_HALF) {
            return Optional.of(new Rejection("MSIX-UPPER-HALF", "slot " + index + " is the upper half of 64-bit BAR" + (index - 1) + ", not a BAR of its own"));
        }
        if (bar.kind() == PciBar.Kind.MEMORY_32 && bar.size() > MAX_DOUBLABLE_32_BIT) {
            return Optional.of(new Rejection("MSIX-BAR-TOO-LARGE", String.format(Locale.ROOT,
                    "32-bit BAR%d is 0x%x bytes; doubled to hold the table it would not fit below 4 GiB (QEMU allows at most 1 GiB)", index, bar.size())));
        }
        return Optional.empty();
    }

    /** The BARs QEMU would accept, for messages: "bar4, bar5". */
    public static String validChoices(PciFunction function) {
        StringBuilder out = new StringBuilder();
        for (int index = 0; index < 6; index++) {
            if (rejection(function, index).isEmpty()) {
                out.append(out.length() == 0 ? "" : ", ").append("bar").append(index);
            }
        }
        return out.length() == 0 ? "none" : out.toString();
    }

    /**
     * Decides for a device with MSI-X on a platform (see {@link MsixVerdict}):
     * relocation is advised when QEMU refuses the device without it, or when the
     * table shares a trapped host page with registers. The target is a known-good
     * entry when there is one, else the lowest empty slot (a new BAR adds only the
     * table's size), else the smallest memory BAR that can double.
     */
    public static Optional<Advice> advise(PciFunction function, MsixPlatform platform, Map<String, Integer> configuredKnownGood) {
        Optional<MsixVerdict> judged = MsixVerdict.judge(function, platform);
        if (judged.isEmpty()) {
            return Optional.empty();
        }
        MsixVerdict verdict = judged.get();
        if (verdict.need() == MsixVerdict.Need.NONE) {
            return Optional.of(new Advice(Outcome.NOT_NEEDED, Optional.empty(), "page layout", verdict, "not needed: " + verdict.describe()));
        }
        if (verdict.need() == MsixVerdict.Need.IMPOSSIBLE) {
            return Optional.of(new Advice(Outcome.QEMU_TOO_OLD, Optional.empty(), "QEMU version", verdict, verdict.describe()));
        }
        Map<String, Integer> knownGood = new TreeMap<>(SHIPPED_KNOWN_GOOD);
        knownGood.putAll(configuredKnownGood);
        String id = String.format(Locale.ROOT, "%04x:%04x", function.vendorId(), function.deviceId());
        Integer listed = knownGood.get(id);
        if (listed != null && rejection(function, listed).isEmpty()) {
            return Optional.of(new Advice(Outcome.RELOCATE, Optional.of(listed), "known-good table (" + id + ")", verdict, verdict.describe()));
        }
        for (int index = 0; index < 6; index++) {
            if (function.bar(index).map(bar -> bar.kind() == PciBar.Kind.EMPTY).orElse(true)) {
                String shape = index < 5 && function.bar(index + 1).map(bar -> bar.kind() == PciBar.Kind.EMPTY).orElse(true)
                        ? " (64-bit, using slot " + (index + 1) + " too)" : " (32-bit)";
                return Optional.of(new Advice(Outcome.RELOCATE, Optional.of(index), "computed: empty slot" + shape, verdict, verdict.describe()));
            }
        }
        Optional<PciBar> smallest = function.bars().stream().filter(PciBar::isMemory)
                .filter(bar -> rejection(function, bar.index()).isEmpty())
                .min((a, b) -> a.size() != b.size() ? Long.compare(a.size(), b.size()) : Integer.compare(a.index(), b.index()));
        return Optional.of(smallest.map(bar -> new Advice(Outcome.RELOCATE, Optional.of(bar.index()), "computed: smallest BAR that can double", verdict, verdict.describe()))
                .orElse(new Advice(Outcome.NO_TARGET, Optional.empty(), "no slot", verdict, "relocation would help but no BAR can take the table; " + verdict.describe())));
    }
}
