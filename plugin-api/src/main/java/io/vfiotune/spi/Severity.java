package io.vfiotune.spi;

import java.util.Locale;

public enum Severity {
    /** The plan cannot be honoured; the command refuses (exit 2). */
    ERROR,
    /** The plan goes ahead, but an operator should look. */
    WARNING,
    /** What was decided and why. */
    INFO;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
