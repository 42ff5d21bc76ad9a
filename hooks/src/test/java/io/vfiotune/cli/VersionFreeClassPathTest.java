package io.vfiotune.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What install-hook bakes as the hooks' class path (issue 26, item 1): the package's jar
 * directory as a wildcard, which survives an upgrade that renames versioned jars between unpack
 * and configure; any other class path exactly as given.
 */
class VersionFreeClassPathTest {
    @TempDir
    Path work;

    @Test
    void everyJarOfOneDirectoryBecomesItsWildcard() throws IOException {
        Path lib = Files.createDirectory(work.resolve("lib"));
        Path a = Files.createFile(lib.resolve("vfio-tune-hooks-0.4.0.jar"));
        Path b = Files.createFile(lib.resolve("guice-7.0.0.jar"));
        assertEquals(lib.resolve("*").toString(), InstallHookCommand.versionFree(a + ":" + b));
    }

    @Test
    void aClassPathThatIsNotAWholeDirectoryIsKept() throws IOException {
        Path lib = Files.createDirectory(work.resolve("lib"));
        Path a = Files.createFile(lib.resolve("a.jar"));
        Files.createFile(lib.resolve("b.jar"));
        Path classes = Files.createDirectory(work.resolve("classes"));
        assertEquals(a.toString(), InstallHookCommand.versionFree(a.toString()), "a directory holding more jars than the class path");
        assertEquals(classes + ":" + a, InstallHookCommand.versionFree(classes + ":" + a), "class directories (a checkout)");
    }
}
