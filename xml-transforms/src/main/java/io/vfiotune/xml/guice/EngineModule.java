package io.vfiotune.xml.guice;

import com.google.inject.AbstractModule;
import com.google.inject.Scopes;
import io.vfiotune.xml.annotations.AnnotationBinder;
import io.vfiotune.xml.engine.DomainPlanner;

/** The XML engine: annotation binder and planner. Transforms come from their own modules. */
public final class EngineModule extends AbstractModule {
    @Override
    protected void configure() {
        TransformBindings.declareTransforms(binder());
        // Singletons are built on first use, so commands that never plan never load the schema.
        bind(AnnotationBinder.class).in(Scopes.SINGLETON);
        bind(DomainPlanner.class).in(Scopes.SINGLETON);
    }
}
