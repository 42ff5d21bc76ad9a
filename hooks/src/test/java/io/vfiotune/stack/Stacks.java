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
 */
public final class Stacks {
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

    /** Both stacks, oldest first. */
    public static List<Stack> all() {
        return List.of(debian12(), debian13());
    }
}
