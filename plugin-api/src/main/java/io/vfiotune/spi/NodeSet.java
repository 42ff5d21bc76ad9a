package io.vfiotune.spi;

import static java.util.Objects.requireNonNull;

/**
 * A set of NUMA nodes in libvirt's syntax ({@code 0-3,^2,8}), as {@code <memnode nodeset=>}
 * and {@code <hostdev><acpi nodeset=>} write it. Kept as text and tested per node, so a
 * hostile range costs nothing.
 */
public record NodeSet(String text) {
    public NodeSet {
        requireNonNull(text, "text is null");
    }

    /**
     * Whether the set holds {@code node}. Parts apply in order as libvirt applies
     * them: a number or range adds, {@code ^N} removes. A set libvirt would refuse
     * holds nothing.
     */
    public boolean contains(int node) {
        boolean member = false;
        for (String part : text.split(",", -1)) {
            String item = part.strip();
            boolean exclude = item.startsWith("^");
            if (exclude) {
                item = item.substring(1).strip();
            }
            int dash = item.indexOf('-');
            int from;
            int to;
            try {
                from = Integer.parseInt(dash < 0 ? item : item.substring(0, dash).strip());
                to = dash < 0 ? from : Integer.parseInt(item.substring(dash + 1).strip());
            } catch (NumberFormatException e) {
                return false;
            }
            if (from < 0 || to < from || (exclude && dash >= 0)) {
                return false;
            }
            if (node >= from && node <= to) {
                member = !exclude;
            }
        }
        return member;
    }
}
