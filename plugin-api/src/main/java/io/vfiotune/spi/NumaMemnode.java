package io.vfiotune.spi;

/**
 * A {@code <numatune><memnode cellid= nodeset=>}: guest NUMA cell
 * {@code cellId} takes its memory from the host nodes of {@code nodeset}, in
 * libvirt's syntax ({@link NodeSet}).
 */
public record NumaMemnode(int cellId, String nodeset) {
    public NumaMemnode {
        java.util.Objects.requireNonNull(nodeset, "nodeset is null");
    }

    /** Whether the nodeset holds {@code hostNode}; one libvirt would refuse binds nothing. */
    public boolean binds(int hostNode) {
        return new NodeSet(nodeset).contains(hostNode);
    }
}
