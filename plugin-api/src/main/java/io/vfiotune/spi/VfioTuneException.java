package io.vfiotune.spi;

import static java.util.Objects.requireNonNull;

/**
 * A failure that carries its finding. Commands turn it into one line on stderr
 * and an exit code; it never reaches the user as a stack trace.
 */
public class VfioTuneException extends RuntimeException {
    private final Finding finding;
    private final ExitStatus exitStatus;

    public VfioTuneException(ExitStatus exitStatus, Finding finding) {
        super(finding.format());
        this.exitStatus = requireNonNull(exitStatus, "exitStatus is null");
        this.finding = requireNonNull(finding, "finding is null");
    }

    public VfioTuneException(ExitStatus exitStatus, Finding finding, Throwable cause) {
        this(exitStatus, finding);
        initCause(cause);
    }

    public Finding finding() {
        return finding;
    }

    public ExitStatus exitStatus() {
        return exitStatus;
    }
}
