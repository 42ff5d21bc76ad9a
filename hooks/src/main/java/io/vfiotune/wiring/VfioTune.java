package io.vfiotune.wiring;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Module;
import com.google.inject.Stage;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.xml.guice.EngineModule;

import java.util.ArrayList;
import java.util.List;

/** Builds the application from small modules; tests add their own transform modules. */
public final class VfioTune {
    private VfioTune() {
    }

    public static Injector injector(HostSettings settings, Module... extraModules) {
        List<Module> modules = new ArrayList<>(List.of(new TransformsModule()));
        modules.addAll(siteModules(settings));
        modules.addAll(List.of(extraModules));
        return engine(settings, modules);
    }

    /** The modules named by {@code transform-modules}, by class name only: start-up never scans the class path. */
    static List<Module> siteModules(HostSettings settings) {
        List<Module> modules = new ArrayList<>();
        for (String name : settings.get(HostSettings.TRANSFORM_MODULES).map(value -> value.split(",")).orElse(new String[0])) {
            String className = name.trim();
            if (className.isEmpty()) {
                continue;
            }
            try {
                Class<?> type = Class.forName(className, true, VfioTune.class.getClassLoader());
                if (!Module.class.isAssignableFrom(type)) {
                    throw invalid(className, "is not a Guice module");
                }
                modules.add((Module) type.getDeclaredConstructor().newInstance());
            } catch (ClassNotFoundException e) {
                throw invalid(className, "is not on the class path");
            } catch (ReflectiveOperationException e) {
                throw invalid(className, "cannot be created with a public no-argument constructor (" + e + ")");
            }
        }
        return modules;
    }

    private static VfioTuneException invalid(String className, String problem) {
        return new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("CONFIG-INVALID", HostSettings.TRANSFORM_MODULES, className + " " + problem));
    }

    /** The host and the engine with only the given transforms: for tests that drive the engine with their own. */
    public static Injector engine(HostSettings settings, List<Module> transformModules) {
        List<Module> modules = new ArrayList<>(List.of(new ProbeModule(settings), new EngineModule()));
        modules.addAll(transformModules);
        // DEVELOPMENT stage: singletons are built on first use, which keeps the hook's start-up lean.
        return Guice.createInjector(Stage.DEVELOPMENT, modules);
    }
}
