package io.vfiotune.probe.facts;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** The pure-Java fallback: the JVM's os.arch and the kernel page size from /proc. */
final class ProcfsNativeSystem implements NativeSystem {
    @Override
    public String machine() {
        String arch = System.getProperty("os.arch", "unknown").toLowerCase(Locale.ROOT);
        return switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "ppc64le" -> "ppc64le";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
    }

    @Override
    public long pageSize() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/smaps"), StandardCharsets.US_ASCII)) {
                if (line.startsWith("KernelPageSize:")) {
                    String[] fields = line.trim().split("\\s+");
                    return Long.parseLong(fields[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through to the error below
        }
        throw new IllegalStateException("cannot read the page size from /proc/self/smaps");
    }
}
