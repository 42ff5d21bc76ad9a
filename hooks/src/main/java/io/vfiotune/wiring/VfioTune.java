package io.vfiotune.wiring;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Module;
import com.google.inject.Stage;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.xml.guice.EngineModule;

import java.util.ArrayList;
import java.util.List;

/** Builds the application from small modules; tests add their own transform modules. */
public final class VfioTune {
    private VfioTune() {
    }

    public static Injector injector(HostSettings settings, Module... extraModules) {
        List<Module> modules = new ArrayList<>(List.of(new TransformsModule()));
        modules.addAll(List.of(extraModules));
        return engine(settings, modules);
    }

    /** The host and the engine with only the given transforms: for tests that drive the engine with their own. */
    public static Injector engine(HostSettings settings, List<Module> transformModules) {
        List<Module> modules = new ArrayList<>(List.of(new ProbeModule(settings), new EngineModule()));
        modules.addAll(transformModules);
        // DEVELOPMENT stage: singletons are built on first use, which keeps the hook's start-up lean.
        return Guice.createInjector(Stage.DEVELOPMENT, modules);
    }
}
