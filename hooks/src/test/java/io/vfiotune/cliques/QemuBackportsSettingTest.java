package io.vfiotune.cliques;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.probe.facts.ConfiguredHostFacts;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.facts.NativeSystem;
import io.vfiotune.probe.facts.QemuVersionProbe;
import io.vfiotune.spi.QemuBackport;
import io.vfiotune.spi.VfioTuneException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** {@code qemu-backports} in vfio-tune.properties: known names pass a version gate, unknown ones are refused like any bad setting. */
class QemuBackportsSettingTest {
    @Test
    void aDeclaredBackportPassesTheVersionGate(@TempDir Path directory) throws IOException {
        ConfiguredHostFacts facts = facts(directory, "qemu-version=7.2.0\nqemu-backports=gpudirect-clique-d4\n");
        assertEquals(Set.of(QemuBackport.GPUDIRECT_CLIQUE_D4), facts.qemuBackports());
        assertTrue(facts.qemuHas(QemuBackport.GPUDIRECT_CLIQUE_D4, Optional.empty()));
    }

    @Test
    void withoutItTheVersionDecides(@TempDir Path directory) throws IOException {
        assertEquals(false, facts(directory, "qemu-version=7.2.0\n").qemuHas(QemuBackport.GPUDIRECT_CLIQUE_D4, Optional.empty()));
        assertEquals(true, facts(directory, "qemu-version=8.1.0\n").qemuHas(QemuBackport.GPUDIRECT_CLIQUE_D4, Optional.empty()));
    }

    @Test
    void anUnknownBackportIsRefused(@TempDir Path directory) throws IOException {
        VfioTuneException refused = assertThrows(VfioTuneException.class, () -> facts(directory, "qemu-backports=gpudirect-clique-d5\n").qemuBackports());
        assertEquals("CONFIG-INVALID", refused.finding().code());
        assertTrue(refused.finding().message().contains("known: gpudirect-clique-d4"), refused.finding().message());
    }

    private static ConfiguredHostFacts facts(Path directory, String properties) throws IOException {
        Path config = Files.writeString(directory.resolve("vfio-tune.properties"), properties);
        HostSettings settings = HostSettings.load(Map.of(), Map.of(HostSettings.CONFIG_ENVIRONMENT_VARIABLE, config.toString()));
        return new ConfiguredHostFacts(settings, NativeSystem.create(), () -> {
            throw new IllegalStateException("not needed");
        }, new QemuVersionProbe(Optional.empty()));
    }
}
