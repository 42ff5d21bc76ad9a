package io.vfiotune.gate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The spool's pid file ({@link GateSpool#PID_FILE}): the gate's pid and that process's start
 * time, so that a pid the kernel gave to another process is no gate.
 */
public final class GatePidFile {
    private GatePidFile() {
    }

    /** The pid file's line for a live process: its pid and start time; empty when /proc does not show it. */
    public static Optional<String> announcement(long pid) {
        return startTime(pid).map(started -> pid + " " + started + "\n");
    }

    /**
     * Field 22 of /proc/PID/stat, counted after the command name (which may hold
     * spaces, parentheses and bytes that are no UTF-8: read as Latin-1, every byte is a character).
     */
    private static Optional<String> startTime(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.ISO_8859_1);
            String[] fields = stat.substring(stat.lastIndexOf(") ") + 2).strip().split(" ");
            return fields.length > 19 ? Optional.of(fields[19]) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The pid in {@code spool/pid} when a live process has that pid and the start time written beside it. */
    static Optional<Long> liveGate(Path spool) {
        try {
            String[] announced = Files.readString(spool.resolve(GateSpool.PID_FILE), StandardCharsets.UTF_8).strip().split(" ");
            long pid = Long.parseLong(announced[0]);
            return announced.length == 2 && startTime(pid).filter(announced[1]::equals).isPresent() ? Optional.of(pid) : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }
}
