package io.vfiotune.stack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The two real stacks every output is judged by: Debian 12 (libvirt 9.0, QEMU 7.2,
 * the machine's own) and Debian 13 (libvirt 11.3, QEMU 10.0, in a root of its own).
 * Both are required: a missing stack fails the tests, it is never skipped.
 * {@code -Dvfio-tune.stacks=debian12} (or {@code debian13}) runs with one stack only;
 * such a run is partial by request, and says so for every case it could not judge.
 */
public final class Stacks {
    public static final String SELECTION_PROPERTY = "vfio-tune.stacks";
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static Stack debian12;
    private static Stack debian13;

    private Stacks() {
    }

    public static synchronized Stack debian12() {
        if (debian12 == null) {
            try {
                debian12 = new HostStack(Files.createTempDirectory("vfio-tune-stack"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return debian12;
    }

    public static synchronized Stack debian13() {
        if (debian13 == null) {
            debian13 = ChrootStack.start(ROOT.resolve("src/scripts/second-stack").toAbsolutePath());
        }
        return debian13;
    }

    /** The stacks of this run, oldest first: both, unless {@link #SELECTION_PROPERTY} names one. */
    public static List<Stack> all() {
        List<String> selected = selection();
        List<Stack> stacks = new java.util.ArrayList<>();
        if (selected.contains("debian12")) {
            stacks.add(debian12());
        }
        if (selected.contains("debian13")) {
            stacks.add(debian13());
        }
        return List.copyOf(stacks);
    }

    /** One stack of the run, for tests of the harnesses themselves, where either will do. */
    public static Stack any() {
        return all().get(0);
    }

    /** Whether this run leaves a stack out on purpose. */
    public static boolean partial() {
        return selection().size() < 2;
    }

    private static List<String> selection() {
        String property = System.getProperty(SELECTION_PROPERTY, "").strip();
        if (property.isEmpty()) {
            return List.of("debian12", "debian13");
        }
        List<String> names = java.util.Arrays.stream(property.split(",")).map(String::strip).toList();
        for (String name : names) {
            if (!name.equals("debian12") && !name.equals("debian13")) {
                throw new IllegalArgumentException("-D" + SELECTION_PROPERTY + ": unknown stack '" + name + "'; known: debian12, debian13");
            }
        }
        return names;
    }
}
