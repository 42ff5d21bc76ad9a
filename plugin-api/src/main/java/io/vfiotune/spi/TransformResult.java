package io.vfiotune.spi;

import java.util.List;

public record TransformResult(List<DomainEdit> edits, List<Finding> findings) {
    public static final TransformResult EMPTY = new TransformResult(List.of(), List.of());

    public TransformResult {
        edits = List.copyOf(edits);
        findings = List.copyOf(findings);
    }
}
