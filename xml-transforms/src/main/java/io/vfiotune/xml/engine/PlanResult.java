package io.vfiotune.xml.engine;

import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.Severity;
import io.vfiotune.spi.TuneAnnotations;

import java.util.List;
import java.util.Optional;

/**
 * The outcome of planning one domain.
 *
 * @param output the rewritten document, present only when the plan succeeded
 * @param changed whether {@code output} differs from the input
 * @param annotated whether the domain has {@code <vt:tune>}
 * @param domainName the domain's name, for messages
 * @param edits what the transforms asked for (for the hook's filters)
 * @param onMismatch what the prepare gate does when the definition no longer fits ({@code REFUSE} when unannotated)
 */
public record PlanResult(Optional<byte[]> output, boolean changed, boolean annotated, String domainName,
                         List<DomainEdit> edits, List<Finding> findings, TuneAnnotations.OnMismatch onMismatch) {
    public PlanResult {
        edits = List.copyOf(edits);
        findings = List.copyOf(findings);
    }

    public boolean refused() {
        return output.isEmpty();
    }

    public ExitStatus exitStatus() {
        return refused() || findings.stream().anyMatch(finding -> finding.severity() == Severity.ERROR) ? ExitStatus.REFUSED : ExitStatus.OK;
    }
}
