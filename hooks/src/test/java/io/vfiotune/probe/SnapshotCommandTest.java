package io.vfiotune.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@code vfio-tune snapshot DIR} writes a tree that {@code --sysfs-root DIR} reads back as the same host. */
class SnapshotCommandTest {
    @Test
    void snapshotOfAHostProbesTheSameAsTheHost(@TempDir Path work) throws IOException {
        for (String host : new String[] {"x86-plx-t4-pair", "power9-ac922-v100-npu"}) {
            Path original = FixtureHosts.materialize(host, Files.createDirectory(work.resolve(host)));
            Path snapshot = work.resolve(host + "-snapshot");
            CliRun.Result taken = CliRun.run(new byte[0], "snapshot", "--sysfs-root", original.toString(), snapshot.toString());
            assertEquals(0, taken.status(), taken.stderr());
            assertTrue(taken.stdout().startsWith("vfio-tune: captured "), taken.stdout());
            String before = CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", original.toString()).stdout();
            String after = CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", snapshot.toString()).stdout();
            assertEquals(before, after, host);
            assertTrue(Files.readString(snapshot.resolve("facts.properties")).contains("page-size="));
        }
    }

    @Test
    void snapshotOfThisMachineReadsBack(@TempDir Path work) {
        Path snapshot = work.resolve("this-host");
        CliRun.Result taken = CliRun.run(new byte[0], "snapshot", "--sysfs-root", "/", "--libvirt-version", "9.0.0", snapshot.toString());
        assertEquals(0, taken.status(), taken.stderr());
        String live = CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", "/", "--libvirt-version", "9.0.0", "--qemu-version", "7.2.0").stdout();
        String copy = CliRun.run(new byte[0], "probe", "--json", "--sysfs-root", snapshot.toString(), "--qemu-version", "7.2.0").stdout();
        assertEquals(live, copy);
    }

    @Test
    void refusesToWriteIntoANonEmptyDirectory(@TempDir Path work) throws IOException {
        Files.writeString(work.resolve("keep-me"), "user data");
        CliRun.Result result = CliRun.run(new byte[0], "snapshot", "--sysfs-root", "/", work.toString());
        assertEquals(1, result.status());
        assertEquals("vfio-tune: error [SNAPSHOT-TARGET-EXISTS] " + work + ": is not empty; give a new directory\n", result.stderr());
        assertEquals("user data", Files.readString(work.resolve("keep-me")));
    }
}
