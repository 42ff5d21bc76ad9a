package io.vfiotune.spi;

import static java.util.Objects.requireNonNull;

/**
 * One thing vfio-tune wants the operator to know. The code is stable and
 * documented in the README; the subject is a host BDF or an element path.
 */
public record Finding(Severity severity, String code, String subject, String message) {
    public Finding {
        requireNonNull(severity, "severity is null");
        requireNonNull(code, "code is null");
        requireNonNull(subject, "subject is null");
        requireNonNull(message, "message is null");
    }

    public static Finding error(String code, String subject, String message) {
        return new Finding(Severity.ERROR, code, subject, message);
    }

    public static Finding warning(String code, String subject, String message) {
        return new Finding(Severity.WARNING, code, subject, message);
    }

    public static Finding info(String code, String subject, String message) {
        return new Finding(Severity.INFO, code, subject, message);
    }

    /** The contract's one-line form: {@code vfio-tune: error [CODE] subject: message}. */
    public String format() {
        // A finding is one line on stderr; libvirt shows stderr verbatim, so fold any newline away.
        return "vfio-tune: " + severity.label() + " [" + code + "] " + subject + ": " + message.replace('\n', ' ');
    }
}
