package io.vfiotune.guest;

import io.vfiotune.golden.Libvirt;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The guest kernels and busybox binaries {@code stack-root debian13 ensure} unpacks into
 * the Debian 13 root, under {@code /opt/vfio-tune-guest/ARCH/}. Every stack boots
 * the same files (the guest kernel is not what is judged, the stack is); the
 * harness stages copies, so libvirt's relabelling never touches the originals.
 */
final class GuestParts {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static Path directory;

    private GuestParts() {
    }

    static Path kernel(String libvirtArchitecture) {
        return existing(directory().resolve(debianArchitecture(libvirtArchitecture)).resolve("kernel"));
    }

    static Path busybox(String libvirtArchitecture) {
        return existing(directory().resolve(debianArchitecture(libvirtArchitecture)).resolve("busybox"));
    }

    /** Debian's name for the architecture of the guest kernel that boots a domain of this libvirt arch. */
    static String debianArchitecture(String libvirtArchitecture) {
        return switch (libvirtArchitecture) {
            case "x86_64" -> "amd64";
            case "aarch64" -> "arm64";
            // pseries boots a little-endian kernel whichever of the two the domain names.
            case "ppc64", "ppc64le" -> "ppc64el";
            default -> throw new IllegalArgumentException("no guest kernel for arch '" + libvirtArchitecture + "'");
        };
    }

    private static synchronized Path directory() {
        if (directory == null) {
            Path script = io.vfiotune.stack.Stacks.stackRootScript();
            Libvirt.Result path = Libvirt.run(List.of(script.toString(), "debian13", "path"), 30);
            if (!path.ok()) {
                throw new AssertionError(script + " path failed: " + path.stderr());
            }
            directory = Path.of(path.stdout().strip(), "opt/vfio-tune-guest");
        }
        return directory;
    }

    private static Path existing(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new AssertionError(file + " is missing; 'src/scripts/stack-root debian13 ensure' unpacks the guest kernels and busybox");
        }
        return file;
    }
}
