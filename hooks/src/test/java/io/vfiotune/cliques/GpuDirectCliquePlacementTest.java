package io.vfiotune.cliques;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciCapability;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.platform.GpuDirectCliquePlacement.Choice;
import io.vfiotune.platform.GpuDirectCliquePlacement;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.BooleanSupplier;

/**
 * QEMU's clique placement (hw/vfio/pci-quirks.c vfio_add_nv_gpudirect_cap, hw/vfio/pci.c
 * vfio_add_std_cap, 8.1.0-10.2.0) on capability chains built by hand. Lengths are the
 * decoder's: MSI 0x0a/0x0e/0x14/0x18, MSI-X 12, PM 8, PCIe v2 0x3c.
 */
class GpuDirectCliquePlacementTest {
    private static final BooleanSupplier QEMU_8_1 = () -> true;
    private static final BooleanSupplier QEMU_7_2 = () -> false;
    private static final BooleanSupplier NOT_ASKED = () -> {
        throw new AssertionError("the QEMU version matters only when a capability starts at 0xc8");
    };

    private static PciCapability cap(int id, int offset, int length) {
        return new PciCapability(id, offset, length, false);
    }

    private static PciFunction gpu(PciCapability... capabilities) {
        return new PciFunction(PciAddress.parse("0000:03:00.0"), 0x10de, 0x1eb8, 0x030200, OptionalInt.empty(), OptionalInt.empty(), Optional.of("vfio-pci"),
                List.of(), List.of(capabilities), Optional.empty(), Optional.empty(), Optional.empty(), List.of(), "pci0000:00", List.of(), 4096, List.of());
    }

    /** The T4's chain: PM 0x60, a null capability 0x68 (sized up to the next), PCIe 0x78, MSI-X 0xc8. */
    private static final PciFunction T4 = gpu(cap(0x01, 0x60, 8), cap(0x00, 0x68, 0x10), cap(0x10, 0x78, 0x3c), cap(0x11, 0xc8, 12));

    @Test
    void turingMovesToD4SinceQemu81() {
        GpuDirectCliquePlacement placement = GpuDirectCliquePlacement.of(T4, QEMU_8_1);
        assertEquals(Choice.SECOND, placement.choice());
        assertEquals(OptionalInt.of(0xd4), placement.offset());
        assertTrue(placement.accepted());
        assertTrue(placement.truncations().isEmpty(), placement.toString());
    }

    @Test
    void turingCollidesBeforeQemu81() {
        GpuDirectCliquePlacement placement = GpuDirectCliquePlacement.of(T4, QEMU_7_2);
        assertEquals(Choice.FIRST_WITHOUT_FALLBACK, placement.choice());
        assertFalse(placement.accepted());
        assertEquals(List.of(new GpuDirectCliquePlacement.Collision(cap(0x11, 0xc8, 12), true)), placement.collisions());
    }

    @Test
    void msixAtC4CollidesOnEveryQemuAndTheVersionIsNotAsked() {
        GpuDirectCliquePlacement placement = GpuDirectCliquePlacement.of(gpu(cap(0x01, 0x60, 8), cap(0x10, 0x78, 0x3c), cap(0x11, 0xc4, 12)), NOT_ASKED);
        assertEquals(Choice.FIRST, placement.choice());
        assertEquals(List.of(new GpuDirectCliquePlacement.Collision(cap(0x11, 0xc4, 12), false)), placement.collisions());
    }

    @Test
    void msiIsAddedAtItsFixedSize() {
        // 64-bit MSI (0x0e) at 0xc0 reaches 0xcd: fails. 32-bit MSI (0x0a) at 0xbc ends at 0xc5: fine.
        assertFalse(GpuDirectCliquePlacement.of(gpu(cap(0x05, 0xc0, 0x0e)), NOT_ASKED).accepted());
        assertTrue(GpuDirectCliquePlacement.of(gpu(cap(0x05, 0xbc, 0x0a)), NOT_ASKED).accepted());
        // 32-bit MSI with per-vector masks (0x14) at 0xb8 reaches 0xcb: fails.
        assertFalse(GpuDirectCliquePlacement.of(gpu(cap(0x05, 0xb8, 0x14)), NOT_ASKED).accepted());
    }

    @Test
    void powerManagementIsCutShortNotRefused() {
        GpuDirectCliquePlacement placement = GpuDirectCliquePlacement.of(gpu(cap(0x10, 0x78, 0x3c), cap(0x01, 0xc4, 8)), NOT_ASKED);
        assertTrue(placement.accepted());
        assertEquals(List.of(new GpuDirectCliquePlacement.Truncation(cap(0x01, 0xc4, 8), 4)), placement.truncations());
    }

    @Test
    void anyCapabilityStartingInsideTheCliqueFails() {
        GpuDirectCliquePlacement placement = GpuDirectCliquePlacement.of(gpu(cap(0x10, 0x78, 0x3c), cap(0x09, 0xcc, 0x14)), NOT_ASKED);
        assertEquals(List.of(new GpuDirectCliquePlacement.Collision(cap(0x09, 0xcc, 0x14), true)), placement.collisions());
    }

    @Test
    void capabilitiesStartingAtBothPlacesLeaveNoRoom() {
        PciFunction crowded = gpu(cap(0x10, 0x78, 0x3c), cap(0x11, 0xc8, 12), cap(0x09, 0xd4, 0x14));
        assertEquals(Choice.NONE, GpuDirectCliquePlacement.of(crowded, QEMU_8_1).choice());
        assertEquals(OptionalInt.empty(), GpuDirectCliquePlacement.of(crowded, QEMU_8_1).offset());
        // Before 8.1 QEMU does not look: 0xc8, where MSI-X starts.
        assertEquals(Choice.FIRST_WITHOUT_FALLBACK, GpuDirectCliquePlacement.of(crowded, QEMU_7_2).choice());
    }

    @Test
    void pascalsLastCapabilityIsSizedToTheEndButItsRealLengthEndsBefore() {
        // P1000: PCIe at 0x78 is last, so QEMU would size it to 0x88 and cut it at 0xc8; its 0x3c bytes end at 0xb3, so nothing is lost.
        GpuDirectCliquePlacement placement = GpuDirectCliquePlacement.of(gpu(cap(0x01, 0x60, 8), cap(0x05, 0x68, 0x0e), cap(0x10, 0x78, 0x3c)), NOT_ASKED);
        assertEquals(Choice.FIRST, placement.choice());
        assertTrue(placement.accepted() && placement.truncations().isEmpty(), placement.toString());
    }

    @Test
    void aCutTheDeviceAlreadyForcesIsNotBlamedOnTheClique() {
        // The vendor capability claims 0x14 bytes but the next capability starts 8 bytes on: QEMU sizes it to 8 with or without a clique.
        GpuDirectCliquePlacement placement = GpuDirectCliquePlacement.of(gpu(cap(0x09, 0xbc, 0x14), cap(0x00, 0xc4, 4)), NOT_ASKED);
        assertTrue(placement.truncations().isEmpty(), placement.toString());
    }
}
