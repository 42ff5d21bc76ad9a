package io.vfiotune.spi;

/**
 * One feature of vfio-tune (cliques, MSI-X relocation, vPHBs, IGD). A transform
 * reads the domain and the host and says what to change; it never touches XML.
 * Transforms run in ascending {@link #order()}, then by {@link #name()}.
 */
public interface DomainTransform {
    /** A stable, short name used in findings and logs. */
    String name();

    /** Position in the pipeline; lower runs first. */
    int order();

    /**
     * Plans this transform's part. Refusals are {@link Severity#ERROR} findings;
     * a plan with any error is not applied.
     */
    TransformResult plan(DomainView domain, HostTopology host);
}
