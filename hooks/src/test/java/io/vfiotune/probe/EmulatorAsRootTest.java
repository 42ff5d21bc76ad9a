package io.vfiotune.probe;

import io.vfiotune.probe.facts.QemuVersionProbe;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hook runs as root and the domain's {@code <emulator>} path comes from XML a tenant may have
 * written (issue 26, item 4). As root, the version probe runs only a binary that root owns and no
 * one else can change, nor any directory above it, and runs it as nobody with an empty
 * environment but PATH. The test runs as root, as the hook does (the test command needs root).
 */
class EmulatorAsRootTest {
    @TempDir
    Path work;

    private Path bin;
    private Path ran;

    @BeforeEach
    void directories() throws IOException {
        assertEquals(0, (int) Files.getAttribute(Path.of("/proc/self"), "unix:uid"), "the test command runs as root, as libvirt runs the hook");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        bin = Files.createDirectory(work.resolve("bin"));
        Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
        // Where a stand-in that was run leaves its mark: writable by nobody too.
        Path marks = Files.createDirectory(work.resolve("marks"));
        Files.setPosixFilePermissions(marks, PosixFilePermissions.fromString("rwxrwxrwx"));
        ran = marks.resolve("ran");
    }

    @Test
    void aRootOwnedEmulatorRunsAsNobodyWithNoEnvironment() throws IOException {
        Path emulator = emulator("qemu-system-x86_64");
        assertEquals("9.2.0", probe().version(emulator).toString(), "the stand-in answers 9.2.0 only as uid 65534 with PATH alone: " + marks());
        assertEquals("uid=65534 gid=65534 groups=65534 home= path=/usr/bin:/bin", marks());
    }

    @Test
    void anEmulatorSomeoneElseOwnsIsNeverRun() throws IOException {
        Path emulator = emulator("qemu-system-x86_64");
        Files.setAttribute(emulator, "unix:uid", 65534);
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> probe().version(emulator));
        assertTrue(refused.getMessage().contains("is not run as root: " + emulator + " is not root's alone (owner"), refused.getMessage());
        assertFalse(Files.exists(ran), "never run");
    }

    @Test
    void anEmulatorInADirectoryOthersCanWriteIsNeverRun() throws IOException {
        Path emulator = emulator("qemu-system-x86_64");
        Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxrwxr-x"));
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> probe().version(emulator));
        assertTrue(refused.getMessage().contains(bin + " is not root's alone"), refused.getMessage());
        assertFalse(Files.exists(ran), "never run");
    }

    @Test
    void aSymlinkIsJudgedByWhatItPointsTo() throws IOException {
        Path real = emulator("qemu-real");
        Files.setAttribute(real, "unix:uid", 65534);
        Path link = Files.createSymbolicLink(bin.resolve("qemu-system-x86_64"), real);
        assertThrows(IllegalStateException.class, () -> probe().version(link));
        assertFalse(Files.exists(ran), "never run");
    }

    /** setpriv's own complaint names the path, which may hold a number: a failed run is no version. */
    @Test
    void aRunThatFailsIsNoVersionWhateverItPrinted() throws IOException {
        Path emulator = script("qemu-system-x86_64", "echo \"setpriv: failed to execute /opt/qemu-9.2/bin/qemu: Permission denied\"\nexit 126\n");
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> probe().version(emulator));
        assertTrue(refused.getMessage().contains("--version failed (exit 126)"), refused.getMessage());
    }

    /** A root-owned file that is no QEMU (a tenant may name any path) gives no version either. */
    @Test
    void aBinaryThatIsNoQemuGivesNoVersion() throws IOException {
        Path emulator = script("python3", "echo 'Python 3.11.2'\n");
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> probe().version(emulator));
        assertTrue(refused.getMessage().contains("printed no QEMU version line: Python 3.11.2"), refused.getMessage());
    }

    /** A cache directory others can write is neither read nor written: its entries could name any version. */
    @Test
    void aCacheOthersCanWriteIsNotBelieved() throws IOException {
        Path emulator = emulator("qemu-system-x86_64");
        Path cache = Files.createDirectory(work.resolve("cache"));
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxrwxrwx"));
        var attributes = Files.readAttributes(emulator.toRealPath(), java.nio.file.attribute.BasicFileAttributes.class);
        Files.writeString(cache.resolve("qemu-versions.properties"), emulator.toRealPath() + "=" + attributes.size() + "\\:" + attributes.lastModifiedTime().toMillis()
                + "\\:" + attributes.fileKey() + "\\:99.0.0\n");
        assertEquals("9.2.0", new QemuVersionProbe(Optional.of(cache), Duration.ofSeconds(30)).version(emulator).toString());
        assertTrue(Files.exists(ran), "the emulator itself was asked");
    }

    private Path script(String name, String body) throws IOException {
        Path script = Files.writeString(bin.resolve(name), "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    private QemuVersionProbe probe() {
        return new QemuVersionProbe(Optional.empty(), Duration.ofSeconds(30));
    }

    /** Prints 9.2.0 only as nobody with PATH alone, and leaves what it saw where the test reads it. */
    private Path emulator(String name) throws IOException {
        Path script = Files.writeString(bin.resolve(name), "#!/bin/sh\n"
                + "echo \"uid=$(id -u) gid=$(id -g) groups=$(id -G) home=${HOME:-} path=$PATH\" > '" + ran + "'\n"
                + "if [ \"$(id -u)\" = 65534 ] && [ \"$(id -G)\" = 65534 ] && [ -z \"${HOME:-}\" ] && [ \"$PATH\" = /usr/bin:/bin ]; then\n"
                + "    echo 'QEMU emulator version 9.2.0'\nelse\n    echo 'QEMU emulator version 1.0.0'\nfi\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    private String marks() throws IOException {
        return Files.exists(ran) ? Files.readString(ran).strip() : "(not run)";
    }
}
