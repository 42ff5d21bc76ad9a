package io.vfiotune.xml.engine;

import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.GuestPciAddress;
import io.vfiotune.xml.tree.XmlDocument;
import io.vfiotune.xml.tree.XmlElement;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Applies the guest-visible edits: PHB controllers, device addresses, ROM BARs
 * and the emulated display. These are written like a user's own edit and are
 * not taken back on a re-plan: moving a guest's devices again because the
 * annotation went away would change its hardware a second time. Every edit
 * compares numbers, not text, so a definition that already has the planned
 * layout comes out byte for byte unchanged.
 */
final class DeviceLayoutEditor {
    private final DomainXml domain;

    DeviceLayoutEditor(DomainXml domain) {
        this.domain = domain;
    }

    /**
     * Applies in an order that keeps slots consistent: video leaves first, then
     * moves, controllers, addresses, ROMs.
     *
     * @return the edits that changed the document; a definition that already has them is not "changed" by a plan
     */
    List<DomainEdit> apply(List<DomainEdit> edits, XmlDocument document) {
        List<DomainEdit> ordered = new ArrayList<>(edits.stream().filter(DomainEdit::guestVisible).toList());
        ordered.sort(Comparator.comparingInt(DeviceLayoutEditor::rank));
        List<DomainEdit> effective = new ArrayList<>();
        for (DomainEdit edit : ordered) {
            String before = document.serialize();
            applyOne(edit);
            if (!document.serialize().equals(before)) {
                effective.add(edit);
            }
        }
        return effective;
    }

    private void applyOne(DomainEdit edit) {
        if (edit instanceof DomainEdit.DisableEmulatedVideo) {
            disableVideo();
        } else if (edit instanceof DomainEdit.MoveGuestDevice move) {
            move(move);
        } else if (edit instanceof DomainEdit.AddSpaprPhb phb) {
            addPhb(phb);
        } else if (edit instanceof DomainEdit.AddPcieController controller) {
            addPcieController(controller);
        } else if (edit instanceof DomainEdit.SetGuestAddress address) {
            domain.hostdevElement(address.hostdev()).ifPresent(hostdev -> pin(hostdev, address.address(), address.multifunction()));
        } else if (edit instanceof DomainEdit.AddGuestNumaCell cell) {
            addNumaCell(cell.id());
        } else if (edit instanceof DomainEdit.SetHostdevAcpiNodeset acpi) {
            domain.hostdevElement(acpi.hostdev()).ifPresent(hostdev -> setAcpiNodeset(hostdev, acpi.nodeset()));
        } else if (edit instanceof DomainEdit.EnableRomBar rom) {
            domain.hostdevElement(rom.hostdev()).ifPresent(DeviceLayoutEditor::enableRomBar);
        } else if (edit instanceof DomainEdit.SetPcieRootHole64 hole) {
            setPcieRootHole64(hole.kib());
        }
    }

    /** The transform judged any hole the definition has; one already of this size is no change. */
    private void setPcieRootHole64(long kib) {
        XmlElement root = domain.pciControllerElements().stream().filter(controller -> "pcie-root".equals(controller.attribute("model").orElse(""))).findFirst()
                .orElseGet(() -> {
                    // libvirt adds this controller itself when it is absent; written out, it can carry the hole
                    XmlElement devices = DomainXml.child(domain.domainElement(), "devices").orElseThrow();
                    return devices.appendChild(XmlElement.create("controller", "type", "pci", "index", "0", "model", "pcie-root"));
                });
        Optional<XmlElement> hole = DomainXml.child(root, "pcihole64");
        if (hole.isPresent()) {
            if (!hole.get().text().trim().equals(Long.toString(kib)) || !"KiB".equals(hole.get().attribute("unit").orElse("KiB"))) {
                root.removeChild(hole.get());
            } else {
                return;
            }
        }
        XmlElement element = XmlElement.create("pcihole64", "unit", "KiB");
        element.setTextContent(Long.toString(kib));
        root.appendChild(element);
    }

    private static int rank(DomainEdit edit) {
        if (edit instanceof DomainEdit.DisableEmulatedVideo) {
            return 0;
        } else if (edit instanceof DomainEdit.MoveGuestDevice) {
            return 1;
        } else if (edit instanceof DomainEdit.AddSpaprPhb || edit instanceof DomainEdit.AddPcieController) {
            return 2;
        } else if (edit instanceof DomainEdit.SetGuestAddress) {
            return 3;
        }
        return 4;
    }

    private void disableVideo() {
        List<XmlElement> videos = domain.videoElements();
        if (videos.isEmpty()) {
            // libvirt adds a default emulated card to a domain with <graphics> and no <video>; an explicit none prevents that
            XmlElement devices = DomainXml.child(domain.domainElement(), "devices").orElseThrow();
            devices.appendChild(XmlElement.create("video")).appendChild(XmlElement.create("model", "type", "none"));
            return;
        }
        XmlElement first = videos.get(0);
        XmlElement model = DomainXml.child(first, "model").orElseGet(() -> first.insertChildAfter(null, XmlElement.create("model", "type", "none")));
        if (!"none".equals(model.attribute("type").orElse(""))) {
            model.setAttribute("type", "none");
        }
        // vram, heads, acceleration and the like describe the emulated card that is gone; libvirt drops them too
        for (String attribute : model.attributeNames()) {
            if (!attribute.equals("type")) {
                model.removeAttribute(attribute);
            }
        }
        for (XmlElement child : model.childElements()) {
            model.removeChild(child);
        }
        DomainXml.pciAddressElement(first).ifPresent(first::removeChild);
        XmlElement devices = first.parent();
        for (XmlElement extra : videos.subList(1, videos.size())) {
            devices.removeChild(extra);
        }
    }

    private void move(DomainEdit.MoveGuestDevice move) {
        for (XmlElement device : domain.deviceElements()) {
            Optional<XmlElement> address = DomainXml.pciAddressElement(device);
            if (address.isPresent() && DomainXml.guestAddressOf(address.get()).equals(move.from())) {
                setAddress(address.get(), move.to());
                return;
            }
        }
    }

    private void addPhb(DomainEdit.AddSpaprPhb phb) {
        if (hasPciController(phb.index())) {
            return;
        }
        XmlElement controller = XmlElement.create("controller", "type", "pci", "index", Integer.toString(phb.index()), "model", "pci-root");
        insertController(controller);
        controller.appendChild(XmlElement.create("model", "name", "spapr-pci-host-bridge"));
        XmlElement target = controller.appendChild(XmlElement.create("target", "index", Integer.toString(phb.targetIndex())));
        phb.numaNode().ifPresent(node -> target.appendChild(XmlElement.create("node")).setTextContent(Integer.toString(node)));
    }

    private void addPcieController(DomainEdit.AddPcieController add) {
        if (hasPciController(add.index())) {
            return;
        }
        XmlElement controller = XmlElement.create("controller", "type", "pci", "index", Integer.toString(add.index()), "model", add.model().xmlName());
        // in the document first: children take their indent from it
        insertController(controller);
        if (add.busNr().isPresent() || add.numaNode().isPresent()) {
            XmlElement target = controller.appendChild(add.busNr().isPresent()
                    ? XmlElement.create("target", "busNr", Integer.toString(add.busNr().getAsInt())) : XmlElement.create("target"));
            add.numaNode().ifPresent(node -> target.appendChild(XmlElement.create("node")).setTextContent(Integer.toString(node)));
        }
        add.address().ifPresent(address -> controller.appendChild(addressElement(address, false)));
    }

    private boolean hasPciController(int index) {
        return domain.pciControllerElements().stream()
                .anyMatch(controller -> controller.attribute("index").map(String::trim).filter(String.valueOf(index)::equals).isPresent());
    }

    /** After the last PCI controller (controllers are added in index order), else after any controller or the emulator. */
    private void insertController(XmlElement controller) {
        XmlElement devices = DomainXml.child(domain.domainElement(), "devices").orElseThrow();
        List<XmlElement> controllers = domain.deviceElements().stream().filter(device -> device.localName().equals("controller")).toList();
        XmlElement anchor = !domain.pciControllerElements().isEmpty() ? last(domain.pciControllerElements())
                : !controllers.isEmpty() ? last(controllers)
                : DomainXml.child(devices, "emulator").orElse(null);
        devices.insertChildAfter(anchor, controller);
    }

    /** A memory-less cell after the last one; the transform checked that {@code <cpu><numa>} has cells. */
    private void addNumaCell(int id) {
        XmlElement numa = DomainXml.child(domain.domainElement(), "cpu").flatMap(cpu -> DomainXml.child(cpu, "numa")).orElseThrow();
        boolean exists = numa.childElements("", "cell").stream().anyMatch(cell -> cell.attribute("id").map(String::trim).filter(String.valueOf(id)::equals).isPresent());
        if (!exists) {
            numa.appendChild(XmlElement.create("cell", "id", Integer.toString(id), "memory", "0", "unit", "KiB"));
        }
    }

    private static void setAcpiNodeset(XmlElement hostdev, String nodeset) {
        Optional<XmlElement> acpi = DomainXml.child(hostdev, "acpi");
        if (acpi.isPresent()) {
            if (!nodeset.equals(acpi.get().attribute("nodeset").orElse(""))) {
                acpi.get().setAttribute("nodeset", nodeset);
            }
            return;
        }
        hostdev.insertChildAfter(DomainXml.child(hostdev, "source").orElse(null), XmlElement.create("acpi", "nodeset", nodeset));
    }

    private static void pin(XmlElement hostdev, GuestPciAddress address, boolean multifunction) {
        Optional<XmlElement> existing = DomainXml.child(hostdev, "address");
        if (existing.isPresent() && "pci".equals(existing.get().attribute("type").orElse(""))) {
            setAddress(existing.get(), address);
            if (multifunction && !"on".equals(existing.get().attribute("multifunction").orElse(""))) {
                existing.get().setAttribute("multifunction", "on");
            }
            return;
        }
        existing.ifPresent(hostdev::removeChild);
        hostdev.appendChild(addressElement(address, multifunction));
    }

    private static XmlElement addressElement(GuestPciAddress address, boolean multifunction) {
        XmlElement element = XmlElement.create("address", "type", "pci", "domain", hex(address.domain(), 4), "bus", hex(address.bus(), 2),
                "slot", hex(address.slot(), 2), "function", String.format(Locale.ROOT, "0x%x", address.function()));
        if (multifunction) {
            element.setAttribute("multifunction", "on");
        }
        return element;
    }

    /** Rewrites only the parts that differ, so an address written as {@code bus='1'} that is already right stays as written. */
    private static void setAddress(XmlElement element, GuestPciAddress address) {
        GuestPciAddress current = DomainXml.guestAddressOf(element);
        if (current.domain() != address.domain()) {
            element.setAttribute("domain", hex(address.domain(), 4));
        }
        if (current.bus() != address.bus()) {
            element.setAttribute("bus", hex(address.bus(), 2));
        }
        if (current.slot() != address.slot()) {
            element.setAttribute("slot", hex(address.slot(), 2));
        }
        if (current.function() != address.function()) {
            element.setAttribute("function", String.format(Locale.ROOT, "0x%x", address.function()));
        }
    }

    private static void enableRomBar(XmlElement hostdev) {
        Optional<XmlElement> rom = DomainXml.child(hostdev, "rom");
        if (rom.isPresent()) {
            if (!"on".equals(rom.get().attribute("bar").orElse(""))) {
                rom.get().setAttribute("bar", "on");
            }
            return;
        }
        hostdev.insertChildAfter(DomainXml.child(hostdev, "source").orElse(null), XmlElement.create("rom", "bar", "on"));
    }

    private static String hex(int value, int digits) {
        return String.format(Locale.ROOT, "0x%0" + digits + "x", value);
    }

    private static XmlElement last(List<XmlElement> elements) {
        return elements.get(elements.size() - 1);
    }
}
