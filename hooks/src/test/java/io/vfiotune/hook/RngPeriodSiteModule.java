package io.vfiotune.hook;

import com.google.inject.AbstractModule;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainTransform;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.GuestDeviceView;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.TransformResult;
import io.vfiotune.xml.guice.TransformBindings;

import java.util.List;

/**
 * A test-only site transform, loaded by the installed hook through the
 * {@code transform-modules} key: it gives a virtio RNG aliased
 * {@code ua-vt-test-rng} a {@code period} override. A TCG guest has no hostdevs,
 * so this is what lets the real libvirtd show the restore filter at work.
 */
public final class RngPeriodSiteModule extends AbstractModule {
    static final String ALIAS = "ua-vt-test-rng";
    static final String PERIOD = "1500";

    @Override
    protected void configure() {
        TransformBindings.bindTransform(binder(), RngPeriodTransform.class);
    }

    public static final class RngPeriodTransform implements DomainTransform {
        @Override
        public String name() {
            return "test-rng-period";
        }

        @Override
        public int order() {
            return 900;
        }

        @Override
        public TransformResult plan(DomainView domain, HostTopology host) {
            boolean present = domain.guestPciDevices().stream().map(GuestDeviceView::alias).anyMatch(alias -> alias.filter(ALIAS::equals).isPresent());
            return present ? new TransformResult(List.of(new DomainEdit.SetAliasedDeviceProperty(ALIAS, "period", DomainEdit.PropertyType.UNSIGNED, PERIOD)), List.of())
                    : TransformResult.EMPTY;
        }
    }
}
