package io.vfiotune.fuzz;

import com.google.inject.Injector;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.wiring.VfioTune;
import io.vfiotune.xml.annotations.AnnotationBinder;
import io.vfiotune.xml.engine.DomainPlanner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** One wired planner over the T4-pair fixture, built once per JVM: fuzzing runs the plan millions of times. */
final class FuzzHost {
    static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    static final DomainPlanner PLANNER;
    static final HostTopology HOST;
    static final AnnotationBinder BINDER = new AnnotationBinder();

    static {
        try {
            Path work = Files.createTempDirectory("vfio-tune-fuzz");
            Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectory(work.resolve("sysfs")));
            Path noConfig = Files.writeString(work.resolve("no-config.properties"), "");
            Injector injector = VfioTune.injector(HostSettings.load(Map.of(HostSettings.SYSFS_ROOT, sysfs.toString()),
                    Map.of(HostSettings.CONFIG_ENVIRONMENT_VARIABLE, noConfig.toString())));
            PLANNER = injector.getInstance(DomainPlanner.class);
            HOST = injector.getInstance(HostTopology.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private FuzzHost() {
    }
}
