package io.vfiotune.probe;

import io.vfiotune.probe.facts.ConfiguredHostFacts;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.facts.NativeSystem;
import io.vfiotune.probe.facts.QemuVersionProbe;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.probe.sysfs.SysfsHostTopology;
import io.vfiotune.probe.sysfs.SysfsRoot;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** The shipped host fixtures (src/hosts/NAME), materialised and probed as the CLI would. */
final class FixtureHosts {
    static final Path HOSTS = Path.of(System.getProperty("vfio-tune.root", "..")).resolve("src/hosts");

    private FixtureHosts() {
    }

    static Path materialize(String host, Path sysfs) throws IOException {
        return HostFixture.load(HOSTS.resolve(host)).materialize(sysfs);
    }

    /** A topology over {@code sysfs}, with facts taken from the fixture's facts.properties. */
    static SysfsHostTopology topology(Path sysfs) throws IOException {
        // An empty config file stands in for /etc/vfio-tune, so the machine's own settings never leak into a test.
        Path emptyConfig = Files.writeString(sysfs.resolve("no-config.properties"), "");
        HostSettings settings = HostSettings.load(Map.of(HostSettings.SYSFS_ROOT, sysfs.toString()),
                Map.of(HostSettings.CONFIG_ENVIRONMENT_VARIABLE, emptyConfig.toString()));
        return new SysfsHostTopology(new SysfsRoot(sysfs), new ConfiguredHostFacts(settings, NativeSystem.create(),
                () -> { throw new IllegalStateException("fixture facts pin the libvirt version"); }, new QemuVersionProbe(Optional.empty())));
    }
}
