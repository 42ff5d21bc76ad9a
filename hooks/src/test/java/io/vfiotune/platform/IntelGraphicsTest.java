package io.vfiotune.platform;

import io.vfiotune.spi.Version;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.util.OptionalInt;

/**
 * QEMU's device-ID tables per version (hw/vfio/igd.c igd_gen(); research item 10):
 * 9.1 and older, 9.2 (e433f208973f and the Coffee/Elkhart/Tiger Lake additions),
 * and 10.0 and later (i915 generations, 0bb758e97ace, 183714d8f940, 960f62770ae4).
 */
class IntelGraphicsTest {
    private static final Version QEMU_72 = new Version(7, 2, 0);
    private static final Version QEMU_91 = new Version(9, 1, 0);
    private static final Version QEMU_92 = new Version(9, 2, 4);
    private static final Version QEMU_100 = new Version(10, 0, 0);
    private static final Version QEMU_102 = new Version(10, 2, 0);

    @Test
    void upToQemu91UnknownIdsCountAsGeneration8() {
        for (Version qemu : new Version[] {QEMU_72, QEMU_91}) {
            assertEquals(OptionalInt.of(8), IntelGraphics.qemuGeneration(0x9bc5, qemu), "Comet Lake");
            assertEquals(OptionalInt.of(8), IntelGraphics.qemuGeneration(0x3185, qemu), "Gemini Lake");
            assertEquals(OptionalInt.of(8), IntelGraphics.qemuGeneration(0x3e92, qemu), "Coffee Lake");
            assertEquals(OptionalInt.of(8), IntelGraphics.qemuGeneration(0x8a52, qemu), "Ice Lake");
            assertEquals(OptionalInt.of(8), IntelGraphics.qemuGeneration(0x1a85, qemu), "Broxton 1a85 hits the default");
            assertEquals(OptionalInt.of(8), IntelGraphics.qemuGeneration(0x5a84, qemu), "Broxton 5a84");
            assertEquals(OptionalInt.of(8), IntelGraphics.qemuGeneration(0x191e, qemu), "Skylake");
            assertEquals(OptionalInt.of(6), IntelGraphics.qemuGeneration(0x0412, qemu), "Haswell");
            assertEquals(OptionalInt.of(8), IntelGraphics.qemuGeneration(0x0a84, qemu), "0a84 is Broxton (8), not Haswell (6)");
            assertEquals(OptionalInt.empty(), IntelGraphics.qemuGeneration(0x0046, qemu), "Ironlake");
            assertEquals(OptionalInt.empty(), IntelGraphics.qemuGeneration(0x2a42, qemu), "GM45");
        }
    }

    @Test
    void qemu92RefusesIdsItDoesNotList() {
        assertEquals(OptionalInt.empty(), IntelGraphics.qemuGeneration(0x9bc5, QEMU_92), "Comet Lake came in 10.0");
        assertEquals(OptionalInt.empty(), IntelGraphics.qemuGeneration(0x3185, QEMU_92), "Gemini Lake came in 10.0");
        assertEquals(OptionalInt.empty(), IntelGraphics.qemuGeneration(0x1a85, QEMU_92), "no 0xffe mask before 10.0");
        assertEquals(OptionalInt.empty(), IntelGraphics.qemuGeneration(0x8a52, QEMU_92), "Ice Lake came in 10.0");
        assertEquals(OptionalInt.of(8), IntelGraphics.qemuGeneration(0x1a84, QEMU_92));
        assertEquals(OptionalInt.of(9), IntelGraphics.qemuGeneration(0x3e92, QEMU_92), "Coffee Lake");
        assertEquals(OptionalInt.of(11), IntelGraphics.qemuGeneration(0x4571, QEMU_92), "Elkhart Lake");
        assertEquals(OptionalInt.of(12), IntelGraphics.qemuGeneration(0x9a49, QEMU_92), "Tiger Lake");
        assertEquals(OptionalInt.of(8), IntelGraphics.qemuGeneration(0x191e, QEMU_92), "Skylake is 8 before 10.0");
    }

    @Test
    void fromQemu100TheTableFollowsI915() {
        for (Version qemu : new Version[] {QEMU_100, QEMU_102}) {
            assertEquals(OptionalInt.of(9), IntelGraphics.qemuGeneration(0x9bc5, qemu));
            assertEquals(OptionalInt.of(9), IntelGraphics.qemuGeneration(0x3185, qemu));
            for (int broxton : new int[] {0x0a84, 0x1a84, 0x1a85, 0x5a84, 0x5a85}) {
                assertEquals(OptionalInt.of(9), IntelGraphics.qemuGeneration(broxton, qemu), Integer.toHexString(broxton));
            }
            assertEquals(OptionalInt.of(7), IntelGraphics.qemuGeneration(0x0a16, qemu), "Haswell ULT");
            assertEquals(OptionalInt.of(6), IntelGraphics.qemuGeneration(0x0126, qemu), "Sandy Bridge");
            assertEquals(OptionalInt.of(9), IntelGraphics.qemuGeneration(0x191e, qemu), "Skylake");
            assertEquals(OptionalInt.of(11), IntelGraphics.qemuGeneration(0x8a52, qemu));
            assertEquals(OptionalInt.of(12), IntelGraphics.qemuGeneration(0xa780, qemu), "Raptor Lake");
            assertEquals(OptionalInt.empty(), IntelGraphics.qemuGeneration(0x7d55, qemu), "Meteor Lake");
            assertEquals(OptionalInt.empty(), IntelGraphics.qemuGeneration(0x2a42, qemu), "the explicit -1 list is gone, the default says the same");
        }
    }

    @Test
    void legacyNeedsGeneration6To9AndAnIdThatQemuKnows() {
        assertTrue(legacyCapable(0x9bc5, QEMU_91), "Comet Lake worked as generation 8 before 9.2");
        assertFalse(legacyCapable(0x9bc5, QEMU_92));
        assertTrue(legacyCapable(0x9bc5, QEMU_100));
        assertFalse(legacyCapable(0x1a85, QEMU_92));
        assertTrue(legacyCapable(0x1a85, QEMU_100));
        assertFalse(legacyCapable(0x8a52, QEMU_91), "Ice Lake is generation 11 whatever QEMU 9.1 calls it");
        assertFalse(legacyCapable(0x9a49, QEMU_92), "Tiger Lake is known to 9.2 but generation 12");
        assertTrue(legacyCapable(0x191e, QEMU_72));
    }

    /** What the IGD transform asks: generation 6-9 as i915 counts it, and an ID the domain's QEMU knows. */
    private static boolean legacyCapable(int deviceId, Version qemu) {
        return IntelGraphics.legacyCapableGeneration(IntelGraphics.generation(deviceId)) && IntelGraphics.qemuGeneration(deviceId, qemu).isPresent();
    }
}
