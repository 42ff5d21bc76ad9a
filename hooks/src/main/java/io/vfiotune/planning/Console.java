package io.vfiotune.planning;

import java.io.InputStream;
import java.io.PrintStream;
import java.util.Map;

/** Where a command reads and writes; tests run commands in-process with their own streams. */
public record Console(InputStream in, PrintStream out, PrintStream err, Map<String, String> environment) {
    /**
     * What a subcommand takes as its picocli parent to reach the console, so a command outside
     * the cli package (the adapters') needs no dependency on {@code Main}.
     */
    public interface Owner {
        Console console();
    }
}
