package io.vfiotune.pci;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A host PCI function address, {@code DDDD:BB:SS.F}. Parsing is strict because
 * these strings end up in sysfs paths: anything else is rejected, so nothing
 * from a domain XML can name a path outside {@code /sys/bus/pci/devices}.
 */
public record PciAddress(int domain, int bus, int slot, int function) implements Comparable<PciAddress> {
    private static final Pattern CANONICAL = Pattern.compile("^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\\.([0-7])$");

    public PciAddress {
        if (domain < 0 || domain > 0xffff || bus < 0 || bus > 0xff || slot < 0 || slot > 0x1f || function < 0 || function > 7) {
            throw new IllegalArgumentException("PCI address out of range: %x:%x:%x.%x".formatted(domain, bus, slot, function));
        }
    }

    /** Parses the canonical lower-case sysfs form; rejects everything else. */
    public static PciAddress parse(String text) {
        Matcher matcher = CANONICAL.matcher(text == null ? "" : text);
        if (!matcher.matches()) {
            throw new IllegalArgumentException("not a PCI address of the form 0000:3b:00.0: '" + text + "'");
        }
        int slot = Integer.parseInt(matcher.group(3), 16);
        if (slot > 0x1f) {
            throw new IllegalArgumentException("PCI slot above 0x1f in '" + text + "'");
        }
        return new PciAddress(Integer.parseInt(matcher.group(1), 16), Integer.parseInt(matcher.group(2), 16), slot,
                Integer.parseInt(matcher.group(4), 16));
    }

    public static boolean isCanonical(String text) {
        return text != null && CANONICAL.matcher(text).matches() && Integer.parseInt(text.substring(8, 10), 16) <= 0x1f;
    }

    /** The deterministic user alias vfio-tune gives a hostdev that has none, e.g. {@code ua-vt-0000-3b-00-0}. */
    public String generatedAlias() {
        return String.format(Locale.ROOT, "ua-vt-%04x-%02x-%02x-%x", domain, bus, slot, function);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%04x:%02x:%02x.%x", domain, bus, slot, function);
    }

    @Override
    public int compareTo(PciAddress other) {
        return Long.compare(ordinal(), other.ordinal());
    }

    private long ordinal() {
        return ((long) domain << 16) | (bus << 8) | (slot << 3) | function;
    }
}
