package io.vfiotune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import org.junit.jupiter.api.Test;

/** {@code vfio-tune demo}, the README's first command, on the bundled host and domain. */
class DemoCommandTest {
    @Test
    void demoDerivesTheT4CliqueAndShowsTheDiff() {
        String previous = System.getProperty("vfio-tune.home");
        System.setProperty("vfio-tune.home", System.getProperty("vfio-tune.root", ".."));
        try {
            CliRun.Result result = CliRun.run(new byte[0], "demo");
            assertEquals(0, result.status(), result.stderr());
            assertTrue(result.stdout().contains("vfio-tune: info [CLIQUE-DERIVED] clique 0: 0000:03:00.0, 0000:04:00.0 can reach each other peer to peer on this host"), result.stdout());
            assertTrue(result.stdout().contains("+        <qemu:property name='x-nv-gpudirect-clique' type='unsigned' value='0'/>"), result.stdout());
            assertTrue(result.stdout().contains("0000:03:00.0 <-> 0000:04:00.0: switch, direct"), result.stdout());
        } finally {
            if (previous == null) {
                System.clearProperty("vfio-tune.home");
            } else {
                System.setProperty("vfio-tune.home", previous);
            }
        }
    }
}
