package io.vfiotune.wiring;

import static java.util.Objects.requireNonNull;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Singleton;
import io.vfiotune.probe.facts.ConfiguredHostFacts;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.facts.LibvirtVersionSource;
import io.vfiotune.probe.facts.NativeSystem;
import io.vfiotune.probe.facts.QemuVersionProbe;
import io.vfiotune.probe.sysfs.SysfsHostTopology;
import io.vfiotune.probe.sysfs.SysfsRoot;
import io.vfiotune.spi.HostFacts;
import io.vfiotune.spi.HostTopology;

import io.vfiotune.xml.annotations.AnnotationBinder;
import io.vfiotune.xml.policy.HostPolicy;

import java.nio.file.Path;
import java.util.Optional;

/** The host: sysfs under the configured root, and facts pinned or read from the machine. */
public final class ProbeModule extends AbstractModule {
    public static final Path DEFAULT_CACHE = Path.of("/var/cache/vfio-tune");

    private final HostSettings settings;

    public ProbeModule(HostSettings settings) {
        this.settings = requireNonNull(settings, "settings is null");
    }

    @Override
    protected void configure() {
        bind(HostSettings.class).toInstance(settings);
        bind(HostTopology.class).to(SysfsHostTopology.class);
    }

    @Provides
    @Singleton
    SysfsHostTopology topology(HostFacts facts) {
        return new SysfsHostTopology(new SysfsRoot(settings.sysfsRoot()), facts);
    }

    /** The host policy: the configured file (which must exist), else the default one when it exists, else none. */
    @Provides
    @Singleton
    HostPolicy policy(AnnotationBinder binder) {
        return settings.policyFile().map(file -> HostPolicy.load(file, binder)).orElse(HostPolicy.NONE);
    }

    @Provides
    @Singleton
    HostFacts facts() {
        Optional<Path> cache = Optional.of(settings.get(HostSettings.CACHE_DIRECTORY).map(Path::of).orElse(DEFAULT_CACHE));
        return new ConfiguredHostFacts(settings, NativeSystem.create(), LibvirtVersionSource.library(), new QemuVersionProbe(cache));
    }
}
