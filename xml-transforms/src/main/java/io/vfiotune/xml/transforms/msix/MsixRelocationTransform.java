package io.vfiotune.xml.transforms.msix;

import io.vfiotune.pci.PciFunction;
import io.vfiotune.platform.MsixPlatform;
import io.vfiotune.platform.MsixRelocation;
import io.vfiotune.platform.NvidiaGraceGpu;
import io.vfiotune.platform.VfioPciProperty;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainTransform;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.TransformResult;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.spi.Version;
import io.vfiotune.xml.transforms.layout.GuestMachines;
import io.vfiotune.xml.transforms.layout.PassthroughDevices;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * MSI-X relocation ({@code x-msix-relocation}): an explicit {@code barN} checked
 * against QEMU's rules, or, with {@code auto}, the advisor's choice from the
 * device's real BARs, the host page size, the guest machine and the QEMU
 * version. QEMU's own {@code auto} is never emitted: its lookup table is empty
 * and it always fails.
 */
public final class MsixRelocationTransform implements DomainTransform {

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
            Optional<PciFunction> found = PassthroughDevices.resolve(hostdev, host, "its MSI-X relocation", PassthroughDevices.Needs.CAPABILITIES_AND_BARS, findings);
            if (found.isEmpty()) {
                continue;
            }
            PciFunction function = found.get();
            String subject = hostdev.source().toString();
            if (mode.equals("auto")) {
                advise(domain, hostdev, function, host, requested.isPresent(), edits, findings);
                continue;
            }
            if (function.msix().isEmpty()) {
                // QEMU returns before it relocates anything for a device without MSI-X (vfio_msix_early_setup),
                // so the device starts whatever barN says; refusing the domain would stop a guest QEMU runs.
                findings.add(Finding.warning("MSIX-NO-CAPABILITY", subject, "msix-relocation=\"" + mode + "\": the device has no MSI-X capability,"
                        + " so QEMU ignores x-msix-relocation for it and starts it as it is; the setting is left out, remove it from the annotation"));
                continue;
            }
            int index = Integer.parseInt(mode.substring(3));
            Optional<MsixRelocation.Rejection> rejection = MsixRelocation.rejection(function, index);
            if (rejection.isPresent()) {
                findings.add(Finding.error(rejection.get().code(), subject, "msix-relocation=\"" + mode + "\": " + rejection.get().reason()
                        + "; valid choices for this device: " + MsixRelocation.validChoices(function) + ", or auto to let vfio-tune choose"));
                continue;
            }
            edits.add(VfioPciProperty.X_MSIX_RELOCATION.set(hostdev.source(), mode));
        }
        return new TransformResult(edits, findings);
    }

    private static void advise(DomainView domain, HostdevView hostdev, PciFunction function, HostTopology host, boolean askedForThisDevice,
                               List<DomainEdit> edits, List<Finding> findings) {
        String subject = hostdev.source().toString();
        if (NvidiaGraceGpu.of(function).filter(grace -> grace.binding() == NvidiaGraceGpu.Binding.NVGRACE).isPresent()) {
            // QEMU sees the driver's device-memory BARs (2-5) through VFIO, which sysfs never shows: the empty slots the advisor would pick are not empty.
            findings.add(Finding.info("MSIX-VARIANT-DRIVER", subject, NvidiaGraceGpu.NVGRACE_DRIVER + " presents device-memory BARs 2-5 that the host's sysfs does not show,"
                    + " so vfio-tune does not choose a relocation for it; name a BAR with msix-relocation=\"barN\" if one is needed"));
            return;
        }
        Optional<MsixRelocation.Advice> advice = MsixRelocation.advise(function, platform(domain, host), host.facts().msixKnownGood());
        if (advice.isEmpty()) {
            if (askedForThisDevice) {
                findings.add(Finding.info("MSIX-NONE", subject, "the device has no MSI-X capability; nothing to relocate"));
            }
            return;
        }
        switch (advice.get().outcome()) {
            case NOT_NEEDED -> findings.add(Finding.info("MSIX-NOT-NEEDED", subject, advice.get().evidence()));
            case NO_TARGET -> findings.add(Finding.warning("MSIX-NO-TARGET", subject, advice.get().evidence()));
            case QEMU_TOO_OLD -> findings.add(Finding.error("MSIX-QEMU-TOO-OLD", subject, advice.get().evidence()));
            case RELOCATE -> relocate(hostdev, advice.get(), edits, findings);
        }
    }

    /**
     * The guest side of the decision: pseries guests never trap the table. The QEMU
     * version is read only if a device's PBA lies outside its BAR, where it decides.
     */
    private static MsixPlatform platform(DomainView domain, HostTopology host) {
        long pageSize = host.facts().pageSize();
        Supplier<Optional<Version>> qemu = () -> Optional.of(host.facts().qemuVersion(domain.emulator()));
        return GuestMachines.isPseries(domain) ? MsixPlatform.pseries(pageSize, qemu) : MsixPlatform.trappingTable(pageSize, qemu);
    }

    private static void relocate(HostdevView hostdev, MsixRelocation.Advice advice, List<DomainEdit> edits, List<Finding> findings) {
        findings.add(Finding.info("MSIX-RELOCATE", hostdev.source().toString(), "relocating the table to " + advice.value() + " (" + advice.source() + "); " + advice.evidence()));
        edits.add(VfioPciProperty.X_MSIX_RELOCATION.set(hostdev.source(), advice.value()));
    }
}
