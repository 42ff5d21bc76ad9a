package io.vfiotune.wiring;

import com.google.inject.AbstractModule;
import io.vfiotune.xml.guice.TransformBindings;
import io.vfiotune.xml.transforms.cliques.GpuDirectCliqueTransform;
import io.vfiotune.xml.transforms.grace.GraceTransform;
import io.vfiotune.xml.transforms.igd.IgdTransform;
import io.vfiotune.xml.transforms.msix.MsixRelocationTransform;
import io.vfiotune.xml.transforms.spapr.SpaprPhbTransform;
import io.vfiotune.xml.transforms.topology.TopologyMirrorTransform;

/**
 * The product's transforms, one {@code bindTransform} line each, in the order
 * their issues land. The planner sorts them by {@code order()}, not by this list.
 */
public final class TransformsModule extends AbstractModule {
    @Override
    protected void configure() {
        TransformBindings.declareTransforms(binder());
        TransformBindings.bindTransform(binder(), GpuDirectCliqueTransform.class);
        TransformBindings.bindTransform(binder(), MsixRelocationTransform.class);
        TransformBindings.bindTransform(binder(), SpaprPhbTransform.class);
        TransformBindings.bindTransform(binder(), IgdTransform.class);
        TransformBindings.bindTransform(binder(), TopologyMirrorTransform.class);
        TransformBindings.bindTransform(binder(), GraceTransform.class);
    }
}
