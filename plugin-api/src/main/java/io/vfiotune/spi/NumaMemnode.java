package io.vfiotune.spi;

/**
 * A {@code <numatune><memnode cellid= nodeset=>}: guest NUMA cell
 * {@code cellId} takes its memory from the host nodes of {@code nodeset}, in
 * libvirt's syntax ({@code 0-3,^2,8}). The set is kept as text and tested per
 * node, so a hostile range costs nothing.
 */
public record NumaMemnode(int cellId, String nodeset) {
    public NumaMemnode {
        java.util.Objects.requireNonNull(nodeset, "nodeset is null");
    }

    /**
     * Whether the nodeset holds {@code hostNode}. Parts apply in order as libvirt
     * applies them: a number or range adds, {@code ^N} removes. A nodeset libvirt
     * would refuse binds nothing.
     */
    public boolean binds(int hostNode) {
        boolean member = false;
        for (String part : nodeset.split(",", -1)) {
            String text = part.strip();
            boolean exclude = text.startsWith("^");
            if (exclude) {
                text = text.substring(1).strip();
            }
            int dash = text.indexOf('-');
            int from;
            int to;
            try {
                from = Integer.parseInt(dash < 0 ? text : text.substring(0, dash).strip());
                to = dash < 0 ? from : Integer.parseInt(text.substring(dash + 1).strip());
            } catch (NumberFormatException e) {
                return false;
            }
            if (from < 0 || to < from || (exclude && dash >= 0)) {
                return false;
            }
            if (hostNode >= from && hostNode <= to) {
                member = !exclude;
            }
        }
        return member;
    }
}
