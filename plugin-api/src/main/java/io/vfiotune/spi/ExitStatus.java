package io.vfiotune.spi;

/** The contract's exit codes. */
public enum ExitStatus {
    /** Done, possibly with warnings. */
    OK(0),
    /** Usage or internal error, including input that is not a readable domain XML. */
    USAGE_OR_INTERNAL(1),
    /** The domain or its annotations cannot be honoured on this host. */
    REFUSED(2);

    private final int code;

    ExitStatus(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }
}
