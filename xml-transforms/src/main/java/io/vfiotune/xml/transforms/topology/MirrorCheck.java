package io.vfiotune.xml.transforms.topology;

import io.vfiotune.platform.NcclPathType;
import io.vfiotune.platform.PcieLineage;
import io.vfiotune.spi.GuestNumaCells;
import io.vfiotune.spi.GuestPciAddress;
import io.vfiotune.spi.PciControllerView;
import io.vfiotune.xml.transforms.topology.MirrorUnits.Unit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Whether a pinned layout mirrors the host: what makes a re-plan of vfio-tune's
 * own output a fixed point, and lets a user's equivalent layout stand.
 */
final class MirrorCheck {
    private static final int SHOWN = 6;

    private MirrorCheck() {
    }

    /** What keeps the layout from mirroring the host, one line each; empty when it does. */
    static List<String> differences(List<Unit> units, GuestPcieTree tree, Map<Integer, GuestNumaCells.Mapping> cells) {
        List<String> differences = new ArrayList<>();
        Map<Unit, PcieLineage> guest = new HashMap<>();
        Map<String, Unit> slots = new HashMap<>();
        for (Unit unit : units) {
            GuestPciAddress first = unit.guestAddress().orElseThrow();
            boolean together = unit.members().stream().allMatch(member -> member.hostdev().guestAddress()
                    .filter(address -> address.bus() == first.bus() && address.slot() == first.slot()).isPresent());
            if (!together) {
                differences.add(unit.describe() + ": the functions of one host device sit in different guest slots");
            }
            Unit other = slots.putIfAbsent(first.bus() + ":" + first.slot(), unit);
            if (other != null) {
                differences.add(other.describe() + " and " + unit.describe() + " share a guest slot and are different host devices");
            }
            Optional<PciControllerView> expander = expanderAbove(first, tree);
            if (expander.isEmpty()) {
                differences.add(unit.describe() + " is not below a pcie-expander-bus");
                continue;
            }
            OptionalInt cell = unit.hostNode().isPresent() ? cells.get(unit.hostNode().getAsInt()).guestCell() : OptionalInt.empty();
            if (cell.isPresent() && !cell.equals(expander.get().numaNode())) {
                differences.add(unit.describe() + " is on host node " + unit.hostNode().getAsInt() + ", which maps to guest cell " + cell.getAsInt()
                        + ", and its expander bus " + expander.get().index() + " is on " + expander.get().numaNode().stream().mapToObj(node -> "cell " + node).findFirst().orElse("no cell"));
            }
            // Structure only: two devices on one expander bus meet in its CPU (PHB), on two they do not (SYS).
            PcieLineage lineage = tree.lineage(first).orElseThrow();
            guest.put(unit, new PcieLineage(lineage.root(), lineage.bridges(), OptionalInt.of(expander.get().index())));
        }
        for (int i = 0; i < units.size(); i++) {
            for (int j = i + 1; j < units.size(); j++) {
                Unit a = units.get(i);
                Unit b = units.get(j);
                if (!guest.containsKey(a) || !guest.containsKey(b)) {
                    continue;
                }
                NcclPathType host = NcclPathType.between(a.lineage(), b.lineage());
                NcclPathType inGuest = NcclPathType.between(guest.get(a), guest.get(b));
                if (host != inGuest) {
                    differences.add(a.describe() + " and " + b.describe() + " are " + host + " on the host and " + inGuest + " in the guest");
                }
            }
        }
        if (differences.size() > SHOWN) {
            int more = differences.size() - SHOWN;
            differences.subList(SHOWN, differences.size()).clear();
            differences.add("and " + more + " more");
        }
        return differences;
    }

    /** The expander bus a guest address hangs below, if any. */
    static Optional<PciControllerView> expanderAbove(GuestPciAddress address, GuestPcieTree tree) {
        Optional<PcieLineage> lineage = tree.lineage(address);
        if (lineage.isEmpty() || !lineage.get().root().startsWith("controller ")) {
            return Optional.empty();
        }
        return tree.controller(Integer.parseInt(lineage.get().root().substring("controller ".length())));
    }
}
