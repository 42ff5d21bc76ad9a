package io.vfiotune.xml.transforms;

import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainTransform;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.MsixRelocation;
import io.vfiotune.spi.PciFunction;
import io.vfiotune.spi.TransformResult;
import io.vfiotune.spi.TuneAnnotations;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * MSI-X relocation ({@code x-msix-relocation}): an explicit {@code barN} checked
 * against QEMU's rules, or, with {@code auto}, the advisor's choice from the
 * device's real BARs and the host page size. QEMU's own {@code auto} is never
 * emitted: its lookup table is empty and it always fails.
 */
public final class MsixRelocationTransform implements DomainTransform {
    static final String PROPERTY = "x-msix-relocation";

    @Override
    public String name() {
        return "msix-relocation";
    }

    @Override
    public int order() {
        return 110;
    }

    @Override
    public TransformResult plan(DomainView domain, HostTopology host) {
        List<Finding> findings = new ArrayList<>();
        List<DomainEdit> edits = new ArrayList<>();
        boolean auto = domain.annotations().msixRelocation() == TuneAnnotations.MsixMode.AUTO;
        for (HostdevView hostdev : domain.pciHostdevs()) {
            Optional<String> requested = domain.annotations().hostdev(hostdev.source()).flatMap(TuneAnnotations.HostdevAnnotation::msixRelocation);
            String mode = requested.orElse(auto ? "auto" : "off");
            if (mode.equals("off")) {
                continue;
            }
            Optional<PciFunction> found = PassthroughDevices.resolve(hostdev, host, "its MSI-X relocation", findings);
            if (found.isEmpty()) {
                continue;
            }
            PciFunction function = found.get();
            String subject = hostdev.source().toString();
            if (mode.equals("auto")) {
                advise(hostdev, function, host, requested.isPresent(), edits, findings);
                continue;
            }
            int index = Integer.parseInt(mode.substring(3));
            Optional<String[]> rejection = MsixRelocation.rejection(function, index);
            if (rejection.isPresent()) {
                findings.add(Finding.error(rejection.get()[0], subject, "msix-relocation=\"" + mode + "\": " + rejection.get()[1]
                        + "; valid choices for this device: " + MsixRelocation.validChoices(function) + ", or auto to let vfio-tune choose"));
                continue;
            }
            edits.add(new DomainEdit.SetDeviceProperty(hostdev.source(), PROPERTY, DomainEdit.PropertyType.STRING, mode));
        }
        return new TransformResult(edits, findings);
    }

    private static void advise(HostdevView hostdev, PciFunction function, HostTopology host, boolean askedForThisDevice,
                               List<DomainEdit> edits, List<Finding> findings) {
        String subject = hostdev.source().toString();
        Optional<MsixRelocation.Advice> advice = MsixRelocation.advise(function, host.facts().pageSize(), host.facts().msixKnownGood());
        if (advice.isEmpty()) {
            if (askedForThisDevice) {
                findings.add(Finding.info("MSIX-NONE", subject, "the device has no MSI-X capability; nothing to relocate"));
            }
            return;
        }
        Optional<Integer> bar = advice.get().bar();
        if (bar.isEmpty()) {
            boolean helps = advice.get().source().equals("no slot");
            findings.add(helps ? Finding.warning("MSIX-NO-TARGET", subject, advice.get().evidence())
                    : Finding.info("MSIX-NOT-NEEDED", subject, advice.get().evidence()));
            return;
        }
        findings.add(Finding.info("MSIX-RELOCATE", subject, "relocating the table to bar" + bar.get() + " (" + advice.get().source() + "); " + advice.get().evidence()));
        edits.add(new DomainEdit.SetDeviceProperty(hostdev.source(), PROPERTY, DomainEdit.PropertyType.STRING, advice.get().value()));
    }
}
