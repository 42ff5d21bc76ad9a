package io.vfiotune.hook;

import io.vfiotune.golden.Libvirt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The installed hook keeps the domain in the shell, so what another user does to the temporary
 * directory cannot change a verdict (issue 26, item 2). With the domain buffered by
 * {@code mktemp} in {@code $TMPDIR}, a directory without room for a file (inodes exhausted, here
 * a directory that does not exist) failed every start, and one without room for the data (a
 * full tmpfs) left an empty copy, so an annotated domain that no longer fits went through
 * unchecked. Each case is asked the three questions that matter: a domain that does not fit is
 * refused, one that fits passes silently, an unannotated one passes without a JVM.
 */
class HookTemporaryDirectoryTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));

    @TempDir
    Path work;

    @Test
    void aTemporaryDirectoryWithNoRoomForAFileChangesNoVerdict() throws IOException {
        Path launcher = HookConcurrencyTest.installedLauncher(work);
        assertVerdicts(launcher, "TMPDIR=" + work.resolve("no-such-directory") + " exec \"$0\" \"$1\" prepare begin - < \"$2\"");
    }

    @Test
    void aFullTemporaryDirectoryChangesNoVerdict() throws IOException {
        Path launcher = HookConcurrencyTest.installedLauncher(work);
        Path full = Files.createDirectory(work.resolve("full"));
        // A 64 KiB tmpfs, filled, in a mount namespace of the hook's own: nothing is mounted in the host's.
        assertVerdicts(launcher, "unshare --mount sh -c 'mount -t tmpfs -o size=64k tmpfs \"$3\" && { dd if=/dev/zero of=\"$3/fill\" bs=4k 2>/dev/null; true; }"
                + " && TMPDIR=\"$3\" exec \"$0\" \"$1\" prepare begin - < \"$2\"' \"$0\" \"$1\" \"$2\" " + full);
    }

    /** Runs {@code shell} (with $0 the launcher, $1 the domain's name, $2 its file) for each of the three domains. */
    private void assertVerdicts(Path launcher, String shell) throws IOException {
        Path golden = ROOT.resolve("src/golden/clique-t4-pair-switch");
        String name = "vt-tmp";
        Path unapplied = Files.writeString(work.resolve("unapplied.xml"), Files.readString(golden.resolve("input.xml")).replace("clique-t4-pair-switch", name));
        Path applied = Files.writeString(work.resolve("applied.xml"), Files.readString(golden.resolve("expected.xml")).replace("clique-t4-pair-switch", name));
        Path unannotated = Files.writeString(work.resolve("unannotated.xml"), "<domain type='kvm'><name>" + name + "</name></domain>\n");

        Libvirt.Result refused = Libvirt.run(List.of("sh", "-c", shell, launcher.toString(), name, unapplied.toString()), 300);
        assertEquals(2, refused.status(), "a domain that does not fit is refused: " + refused.stderr());
        assertTrue(refused.stderr().startsWith("vfio-tune: error [HOOK-MISMATCH] domain " + name + ": "), refused.stderr());

        Libvirt.Result fits = Libvirt.run(List.of("sh", "-c", shell, launcher.toString(), name, applied.toString()), 300);
        assertEquals(0, fits.status(), fits.stderr());
        assertEquals("", fits.stdout() + fits.stderr(), "a domain that fits passes silently");

        Libvirt.Result plain = Libvirt.run(List.of("sh", "-c", shell, launcher.toString(), name, unannotated.toString()), 300);
        assertEquals(0, plain.status(), plain.stderr());
        assertEquals("", plain.stdout() + plain.stderr());
    }
}
