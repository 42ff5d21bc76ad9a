package io.vfiotune.stack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The three real stacks every output is judged by, oldest first: Debian 12 (libvirt 9.0,
 * QEMU 7.2, the machine's own), Debian 13 (libvirt 11.3, QEMU 10.0) and Debian 13 with
 * trixie-backports (libvirt 12.9, QEMU 11.1), each of the last two in a root of its own
 * ({@code src/scripts/stack-root}). All are required: a missing stack fails the tests, it is
 * never skipped. {@code -Dvfio-tune.stacks=debian12,debian13} (any of {@link #NAMES}) runs
 * with those only; such a run is partial by request, and says so for every case it could not
 * judge.
 */
public final class Stacks {
    public static final String SELECTION_PROPERTY = "vfio-tune.stacks";
    /** The stacks by the names the selection and {@code stack-root} use, oldest first. */
    public static final List<String> NAMES = List.of("debian12", "debian13", "debian13-backports");
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static Stack debian12;
    private static Stack debian13;
    private static Stack debian13Backports;

    private Stacks() {
    }

    /** The script that builds and serves the stacks in roots of their own. */
    public static Path stackRootScript() {
        return ROOT.resolve("src/scripts/stack-root").toAbsolutePath();
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
            debian13 = ChrootStack.start(stackRootScript(), "debian13");
        }
        return debian13;
    }

    public static synchronized Stack debian13Backports() {
        if (debian13Backports == null) {
            debian13Backports = ChrootStack.start(stackRootScript(), "debian13-backports");
        }
        return debian13Backports;
    }

    /** The stacks of this run, oldest first: all three, unless {@link #SELECTION_PROPERTY} names some. */
    public static List<Stack> all() {
        List<Stack> stacks = new ArrayList<>();
        for (String name : selection()) {
            stacks.add(byName(name));
        }
        return List.copyOf(stacks);
    }

    private static Stack byName(String name) {
        return switch (name) {
            case "debian12" -> debian12();
            case "debian13" -> debian13();
            case "debian13-backports" -> debian13Backports();
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** One stack of the run, for tests of the harnesses themselves, where any will do. */
    public static Stack any() {
        return all().get(0);
    }

    /** Whether this run leaves a stack out on purpose. */
    public static boolean partial() {
        return selection().size() < NAMES.size();
    }

    private static List<String> selection() {
        String property = System.getProperty(SELECTION_PROPERTY, "").strip();
        if (property.isEmpty()) {
            return NAMES;
        }
        List<String> names = Arrays.stream(property.split(",")).map(String::strip).filter(name -> !name.isEmpty()).toList();
        if (names.isEmpty()) {
            throw new IllegalArgumentException("-D" + SELECTION_PROPERTY + "=" + property + " names no stack; known: " + String.join(", ", NAMES));
        }
        for (String name : names) {
            if (!NAMES.contains(name)) {
                throw new IllegalArgumentException("-D" + SELECTION_PROPERTY + ": unknown stack '" + name + "'; known: " + String.join(", ", NAMES));
            }
        }
        // Oldest first, whatever order the property gives.
        return NAMES.stream().filter(names::contains).toList();
    }
}
