package io.vfiotune.stack;

import static java.util.Objects.requireNonNull;

import io.vfiotune.golden.Libvirt;
import io.vfiotune.spi.Version;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * One real libvirt + QEMU stack that judges vfio-tune's outputs: its libvirtd,
 * {@code virt-xml-validate}, {@code virsh} and QEMU binaries. Files a stack must
 * read are staged where that stack sees them ({@link #stage}), because the
 * other stacks run in roots of their own.
 */
// Not AutoCloseable: JUnit closes AutoCloseable arguments of a parameterized test after each
// invocation, which stopped the shared Debian 13 stack in the middle of a run.
public abstract class Stack {
    private final Map<String, VfioPciHelp> helpByEmulator = new ConcurrentHashMap<>();
    private final java.util.Map<String, Boolean> objectTypes = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.Map<String, String> machineHelp = new java.util.concurrent.ConcurrentHashMap<>();
    private Version libvirtVersion;
    private Version qemuVersion;

    /** The stack's name in {@link Stacks#NAMES} and {@code stack-root}: {@code debian12}, {@code debian13}, {@code debian13-backports}. */
    public abstract String name();

    /**
     * The exact libvirt and QEMU versions, for file names and tables, such as
     * {@code libvirt9.0.0-qemu7.2.22}: an argv is compared only with one recorded for these
     * exact versions, because point releases (and backports, which keep only their newest
     * version) move under a stack's name.
     */
    public final String id() {
        return "libvirt" + libvirtVersion() + "-qemu" + qemuVersion();
    }

    @Override
    public final String toString() {
        return distribution() + " (libvirt " + libvirtVersion() + " + QEMU " + qemuVersion() + ")";
    }

    /** Which Debian release the stack is, for messages. */
    public abstract String distribution();

    /** Runs a command inside the stack (its root, its libvirtd). */
    public abstract Libvirt.Result run(List<String> command, int timeoutSeconds);

    /** A directory of the host filesystem that the stack sees too, for files it must read. */
    protected abstract Path stagingDirectory();

    /** The path under which the stack sees a file of {@link #stagingDirectory()}. */
    public abstract String inside(Path hostPath);

    /** The host path of a path as the stack sees it (for files the stack wrote). */
    public abstract Path outside(String stackPath);

    /** Copies content into the stack's view and returns the host path of the copy. */
    public final Path stage(String fileName, byte[] content) {
        try {
            Path directory = Files.createDirectories(stagingDirectory());
            Path file = Files.createTempFile(directory, "", "-" + fileName);
            Files.write(file, content);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Like {@link #stage}, for a file the stack's QEMU opens itself (a guest kernel,
     * an initramfs, a console log): libvirtd runs QEMU as an unprivileged user and
     * relabels the file for it, but not the directories above, so the staging
     * directory must let that user through (search only: nobody can list it).
     */
    public final Path stageForEmulator(String fileName, byte[] content) {
        Path file = stage(fileName, content);
        try {
            Files.setPosixFilePermissions(file.getParent(), PosixFilePermissions.fromString("rwx--x--x"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    public final Libvirt.Result virsh(String... arguments) {
        return run(Stream.concat(Stream.of("virsh", "-c", Libvirt.URI), Stream.of(arguments)).toList(), 300);
    }

    public final Libvirt.Result validate(Path stagedDomain) {
        return run(List.of("virt-xml-validate", inside(stagedDomain), "domain"), 120);
    }

    public final Libvirt.Result domxmlToNative(Path stagedDomain) {
        return virsh("domxml-to-native", "qemu-argv", "--xml", inside(stagedDomain));
    }

    public final synchronized Version libvirtVersion() {
        if (libvirtVersion == null) {
            Libvirt.Result version = run(List.of("virsh", "--version"), 30);
            libvirtVersion = Version.find(version.stdout()).orElseThrow(() -> new AssertionError(this.getClass().getSimpleName() + ": virsh --version said " + version));
        }
        return libvirtVersion;
    }

    /** The version of the stack's QEMU (all its system emulators come from one source package). */
    public final synchronized Version qemuVersion() {
        if (qemuVersion == null) {
            Libvirt.Result version = run(List.of("/usr/bin/qemu-system-x86_64", "--version"), 30);
            qemuVersion = Version.find(version.stdout().replaceFirst("^QEMU emulator version ", ""))
                    .orElseThrow(() -> new AssertionError(getClass().getSimpleName() + ": qemu-system-x86_64 --version said " + version));
        }
        return qemuVersion;
    }

    /** The emulators the stacks must have: the architectures vfio-tune plans for. */
    public static List<String> emulators() {
        return List.of("/usr/bin/qemu-system-x86_64", "/usr/bin/qemu-system-aarch64", "/usr/bin/qemu-system-ppc64");
    }

    /** What {@code EMULATOR -device vfio-pci,help} lists, read once per binary. */
    /** Whether the emulator knows a QOM object type ({@code -object TYPE,help} succeeds). */
    public final boolean hasObjectType(String emulator, String type) {
        return objectTypes.computeIfAbsent(emulator + " " + type, key -> run(List.of(emulator, "-object", type + ",help"), 60).ok());
    }

    /**
     * Whether the emulator's {@code machine} type has a property ({@code -machine MACHINE,help} lists
     * {@code NAME=}), as an output's {@code -machine NAME=VALUE} needs.
     */
    public final boolean hasMachineProperty(String emulator, String machine, String name) {
        String help = machineHelp.computeIfAbsent(emulator + " " + machine, key -> {
            Libvirt.Result result = run(List.of(emulator, "-machine", machine + ",help"), 60);
            return result.ok() ? result.stdout() : "";
        });
        return help.lines().anyMatch(line -> line.trim().startsWith(name + "="));
    }

    public final VfioPciHelp vfioPciHelp(String emulator) {
        requireNonNull(emulator, "emulator is null");
        return helpByEmulator.computeIfAbsent(emulator, binary -> {
            Libvirt.Result help = run(List.of(binary, "-device", "vfio-pci,help"), 60);
            if (!help.ok()) {
                throw new AssertionError(this + ": " + binary + " -device vfio-pci,help failed: " + help.stderr());
            }
            return VfioPciHelp.parse(binary, help.stdout());
        });
    }

    static List<String> concat(List<String> prefix, List<String> command) {
        List<String> all = new ArrayList<>(prefix);
        all.addAll(command);
        return all;
    }
}
