package io.vfiotune.xml.transforms.topology;

import io.vfiotune.platform.PcieLineage;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.GuestPciAddress;
import io.vfiotune.spi.PciControllerView;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The guest's PCI hierarchy as the domain's controllers describe it: which
 * controller a bus number names, and what sits above a guest address. A device's
 * lineage is what the guest's sysfs will show: the root bus ({@code pcie.0} or an
 * expander bus, which Linux sees as a root bus of its own) and the ports between.
 */
final class GuestPcieTree {
    static final String EXPANDER_BUS = "pcie-expander-bus";
    static final String ROOT_PORT = "pcie-root-port";

    private final Map<Integer, PciControllerView> controllers = new HashMap<>();

    GuestPcieTree(DomainView domain) {
        for (PciControllerView controller : domain.pciControllers()) {
            controllers.putIfAbsent(controller.index(), controller);
        }
    }

    Optional<PciControllerView> controller(int index) {
        return Optional.ofNullable(controllers.get(index));
    }

    /**
     * The lineage of a device at {@code address}; empty when a controller on the way
     * is missing or has no address yet (libvirt has not placed it), so nothing can
     * be said about the path.
     */
    Optional<PcieLineage> lineage(GuestPciAddress address) {
        List<PcieLineage.Bridge> bridges = new ArrayList<>();
        int bus = address.bus();
        for (int hops = 0; hops < 256; hops++) {
            if (bus == 0) {
                return Optional.of(new PcieLineage("pcie.0", bridges, OptionalInt.empty()));
            }
            PciControllerView controller = controllers.get(bus);
            if (controller == null) {
                return Optional.empty();
            }
            if (controller.model().equals(EXPANDER_BUS)) {
                return Optional.of(new PcieLineage("controller " + bus, bridges, controller.numaNode()));
            }
            if (controller.address().isEmpty()) {
                return Optional.empty();
            }
            bridges.add(0, new PcieLineage.Bridge("controller " + bus, 0));
            bus = controller.address().get().bus();
        }
        return Optional.empty();
    }

    /** Whether {@code bus} is a root port plugged straight into {@code pcie.0}, where libvirt puts each hostdev by default. */
    boolean isRootPortOnMainBus(int bus) {
        PciControllerView controller = controllers.get(bus);
        return controller != null && controller.model().equals(ROOT_PORT) && controller.address().map(address -> address.bus() == 0).orElse(true);
    }

    int nextFreeIndex() {
        // an index libvirt could not parse reads as -1; pcie-root is 0 either way
        return Math.max(0, controllers.keySet().stream().mapToInt(Integer::intValue).max().orElse(0)) + 1;
    }
}
