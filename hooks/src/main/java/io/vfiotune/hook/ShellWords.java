package io.vfiotune.hook;

/** Text written into the launchers vfio-tune installs, which are POSIX shell. */
public final class ShellWords {
    private ShellWords() {
    }

    /** One shell word for any text: single quotes, each ' inside closed, escaped and reopened. */
    public static String quote(String text) {
        return "'" + text.replace("'", "'\\''") + "'";
    }
}
