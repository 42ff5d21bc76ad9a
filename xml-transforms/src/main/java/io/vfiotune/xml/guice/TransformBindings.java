package io.vfiotune.xml.guice;

import com.google.inject.Binder;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;
import io.vfiotune.spi.DomainTransform;

/** The one way to plug a transform in: {@code bindTransform(binder, CliqueTransform.class)}. */
public final class TransformBindings {
    private TransformBindings() {
    }

    public static void bindTransform(Binder binder, Class<? extends DomainTransform> transform) {
        binder.bind(transform).in(Scopes.SINGLETON);
        Multibinder.newSetBinder(binder, DomainTransform.class).addBinding().to(transform);
    }

    /** Declares the set even when no transform is bound, so the planner can be built. */
    public static void declareTransforms(Binder binder) {
        Multibinder.newSetBinder(binder, DomainTransform.class);
    }
}
