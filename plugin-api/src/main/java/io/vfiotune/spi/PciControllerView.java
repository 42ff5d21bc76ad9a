package io.vfiotune.spi;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * A {@code <controller type='pci'>} of the domain. On pseries every
 * {@code pci-root} is a PHB; its {@code index} is what device addresses name as
 * {@code bus}, its target index what QEMU calls the PHB's {@code index}.
 *
 * @param modelName {@code <model name=...>}, e.g. {@code spapr-pci-host-bridge}
 * @param address where the controller itself is plugged in (bridges), when pinned
 * @param busNr an expander bus's {@code <target busNr>}: the first guest bus number it takes
 */
public record PciControllerView(
        int index,
        String model,
        Optional<String> modelName,
        OptionalInt targetIndex,
        OptionalInt numaNode,
        Optional<GuestPciAddress> address,
        OptionalInt busNr) {

    public PciControllerView(int index, String model, Optional<String> modelName, OptionalInt targetIndex, OptionalInt numaNode,
            Optional<GuestPciAddress> address) {
        this(index, model, modelName, targetIndex, numaNode, address, OptionalInt.empty());
    }

    public boolean isRoot() {
        return model.equals("pci-root");
    }
}
