package io.vfiotune.msix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.pci.MsixLayout;
import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciBar;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.platform.MsixPlatform;
import io.vfiotune.platform.MsixRelocation;
import io.vfiotune.platform.MsixVerdict.Need;
import io.vfiotune.platform.MsixVerdict;
import io.vfiotune.spi.Version;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Supplier;

/**
 * The MSI-X verdict against QEMU's own rules (hw/vfio/pci.c vfio_msix_early_setup,
 * hw/pci/msix.c msix_init), on devices written out by hand: the corner cases the
 * golden cases' real dumps do not reach.
 */
class MsixVerdictTest {
    private static final long K = 1024;
    private static final Supplier<Optional<Version>> CURRENT_QEMU = Optional::empty;

    @Test
    void pbaAtOffsetZeroOfAnEmptyBarIsOutsideIt() {
        // QEMU tests pba_offset >= size of the named BAR; an empty BAR has size 0, so even offset 0 fails.
        PciFunction device = device(0x8086, 0x1234, List.of(memory(0, 64 * K)), new MsixLayout(0x70, 4, 0, 0x2000, 1, 0));
        MsixVerdict verdict = judge(device, MsixPlatform.trappingTable(4096, CURRENT_QEMU));
        assertEquals(Need.TO_START, verdict.need(), verdict.describe());
        assertTrue(verdict.reason().startsWith("PBA lies outside its BAR: BAR1 is empty"), verdict.reason());
        assertEquals(Optional.of(1), MsixRelocation.advise(device, MsixPlatform.trappingTable(4096, CURRENT_QEMU), Map.of()).orElseThrow().bar());
    }

    @Test
    void pbaBirOfSixNamesNoBar() {
        PciFunction device = device(0x8086, 0x1234, List.of(memory(0, 64 * K)), new MsixLayout(0x70, 4, 0, 0x2000, 6, 0x3000));
        assertTrue(judge(device, MsixPlatform.trappingTable(4096, CURRENT_QEMU)).reason().contains("BIR 6 names no BAR"));
    }

    @Test
    void beforeQemu41RelocationDoesNotLiftThePbaCheck() {
        PciFunction device = device(0x8086, 0x1234, List.of(memory(0, 64 * K)), new MsixLayout(0x70, 4, 0, 0x2000, 1, 0));
        assertEquals(Need.IMPOSSIBLE, judge(device, MsixPlatform.trappingTable(4096, qemu(4, 0))).need());
        assertEquals(Need.TO_START, judge(device, MsixPlatform.trappingTable(4096, qemu(4, 1))).need());
        assertEquals(MsixRelocation.Outcome.QEMU_TOO_OLD,
                MsixRelocation.advise(device, MsixPlatform.trappingTable(4096, qemu(4, 0)), Map.of()).orElseThrow().outcome());
    }

    @Test
    void chelsioT5VirtualFunctionsAreCorrectedByQemuItself() {
        MsixLayout reported = new MsixLayout(0x60, 8, 4, 0, 4, 0x8000);
        List<PciBar> bars = List.of(memory(0, 4 * K), memory(4, 8 * K));
        MsixVerdict t5 = judge(device(0x1425, 0x5803, bars, reported), MsixPlatform.trappingTable(4096, qemu(2, 12)));
        assertEquals(Need.NONE, t5.need(), t5.describe());
        assertTrue(t5.reason().contains("QEMU reads the PBA at BAR4+0x1000, not at the 0x8000 this device reports (its Chelsio T5 VF quirk)"), t5.reason());
        // the quirk matches any 58xx, and nothing else of Chelsio's (a T6 VF is 68xx)
        assertEquals(Need.NONE, judge(device(0x1425, 0x58ff, bars, reported), MsixPlatform.trappingTable(4096, CURRENT_QEMU)).need());
        assertEquals(Need.TO_START, judge(device(0x1425, 0x6803, bars, reported), MsixPlatform.trappingTable(4096, CURRENT_QEMU)).need());
        // 64 KiB pages: the one host page holds the table page and the corrected PBA page, nothing else
        assertEquals(Need.NONE, judge(device(0x1425, 0x5803, bars, reported), MsixPlatform.trappingTable(65536, CURRENT_QEMU)).need());
    }

    @Test
    void baiduKunlunVirtualFunctionsAreCorrectedFromQemu61() {
        PciFunction kunlun = device(0x1d22, 0x3685, List.of(memory(0, 64 * K)), new MsixLayout(0x70, 32, 0, 0xa000, 0, 0x460000));
        MsixVerdict current = judge(kunlun, MsixPlatform.trappingTable(4096, qemu(6, 1)));
        assertEquals(Need.NONE, current.need(), current.describe());
        assertTrue(current.reason().contains("QEMU reads the PBA at BAR0+0xb400, not at the 0x460000 this device reports (its Baidu Kunlun VF quirk)"));
        assertEquals(Need.TO_START, judge(kunlun, MsixPlatform.trappingTable(4096, qemu(6, 0))).need());
        assertEquals(Need.NONE, judge(kunlun, MsixPlatform.trappingTable(4096, CURRENT_QEMU)).need());
        assertEquals(Need.TO_START, judge(device(0x1d22, 0x3684, List.of(memory(0, 64 * K)), new MsixLayout(0x70, 32, 0, 0xa000, 0, 0x460000)),
                MsixPlatform.trappingTable(4096, CURRENT_QEMU)).need());
    }

    @Test
    void aQuirkOnlyAppliesToAPbaPastTheEndOfItsBar() {
        // A T5 VF that reports its PBA correctly is left as it is: QEMU corrects only an offset >= the BAR size.
        MsixVerdict verdict = judge(device(0x1425, 0x5803, List.of(memory(4, 8 * K)), new MsixLayout(0x60, 8, 4, 0, 4, 0x1000)),
                MsixPlatform.trappingTable(4096, CURRENT_QEMU));
        assertEquals(Need.NONE, verdict.need());
        assertFalse(verdict.reason().contains("quirk"), verdict.reason());
    }

    @Test
    void theQemuVersionIsOnlyAskedForWhenThePbaIsOutside() {
        Supplier<Optional<Version>> unreadable = () -> {
            throw new IllegalStateException("the QEMU version was asked for");
        };
        PciFunction connectX = device(0x15b3, 0x1007, List.of(memory(0, 1024 * K), memory(2, 32 * 1024 * K)), new MsixLayout(0x9c, 256, 0, 0x7c000, 0, 0x7d000));
        assertEquals(Need.FOR_SPEED, judge(connectX, MsixPlatform.trappingTable(65536, unreadable)).need());
    }

    @Test
    void aTableInAnEmptyBarCannotStartWithoutRelocation() {
        MsixVerdict verdict = judge(device(0x8086, 0x1234, List.of(memory(0, 64 * K)), new MsixLayout(0x70, 4, 2, 0, 0, 0x3000)),
                MsixPlatform.trappingTable(4096, CURRENT_QEMU));
        assertEquals(Need.TO_START, verdict.need());
        assertTrue(verdict.reason().startsWith("table lies outside its BAR: BAR2 is empty"), verdict.reason());
    }

    @Test
    void aPbaRunningPastTheEndOfItsBarCannotStartWithoutRelocation() {
        // starts inside (QEMU's first test passes), ends outside (msix_init refuses): 128 vectors need 16 bytes of PBA
        MsixVerdict verdict = judge(device(0x8086, 0x1234, List.of(memory(0, 8 * K)), new MsixLayout(0x70, 128, 0, 0, 0, 8 * K - 8)),
                MsixPlatform.trappingTable(4096, CURRENT_QEMU));
        assertEquals(Need.TO_START, verdict.need());
        assertTrue(verdict.reason().startsWith("PBA runs past the end of its BAR"), verdict.reason());
    }

    @Test
    void aPbaSharingAPageWithRegistersCostsNothing() {
        // table alone in a 4 KiB BAR2, PBA inside the 64 KiB register BAR0: QEMU traps only the table
        PciFunction device = device(0x8086, 0x1234, List.of(memory(0, 64 * K), memory(2, 4 * K)), new MsixLayout(0x70, 16, 2, 0, 0, 0x800));
        MsixVerdict verdict = judge(device, MsixPlatform.trappingTable(65536, CURRENT_QEMU));
        assertEquals(Need.NONE, verdict.need(), verdict.describe());
        assertTrue(verdict.reason().contains("the PBA shares a host page with other BAR contents, which costs nothing"), verdict.reason());
        assertTrue(verdict.evidence().contains("BAR2 size 0x1000, BAR0 size 0x10000"), verdict.evidence());
    }

    @Test
    void pseriesNeedsRelocationOnlyToStart() {
        PciFunction connectX = device(0x15b3, 0x1007, List.of(memory(0, 1024 * K), memory(2, 32 * 1024 * K)), new MsixLayout(0x9c, 256, 0, 0x7c000, 0, 0x7d000));
        assertEquals(Need.FOR_SPEED, judge(connectX, MsixPlatform.trappingTable(65536, CURRENT_QEMU)).need());
        assertEquals(Need.NONE, judge(connectX, MsixPlatform.pseries(65536, CURRENT_QEMU)).need());
        // vfio-no-msix-emulation changes nothing about QEMU's PBA check
        PciFunction bogusPba = device(0x15b3, 0x1007, List.of(memory(0, 1024 * K), memory(2, 32 * 1024 * K)), new MsixLayout(0x9c, 256, 0, 0x7c000, 1, 0x7d000));
        assertEquals(Need.TO_START, judge(bogusPba, MsixPlatform.pseries(65536, CURRENT_QEMU)).need());
    }

    @Test
    void aDeviceWithoutMsixHasNoVerdict() {
        PciFunction device = device(0x10de, 0x1cb1, List.of(memory(0, 16 * 1024 * K)), null);
        assertTrue(MsixVerdict.judge(device, MsixPlatform.trappingTable(4096, CURRENT_QEMU)).isEmpty());
        assertTrue(MsixRelocation.advise(device, MsixPlatform.trappingTable(4096, CURRENT_QEMU), Map.of()).isEmpty());
    }

    private static MsixVerdict judge(PciFunction device, MsixPlatform platform) {
        return MsixVerdict.judge(device, platform).orElseThrow();
    }

    private static Supplier<Optional<Version>> qemu(int major, int minor) {
        return () -> Optional.of(new Version(major, minor, 0));
    }

    private static PciBar memory(int index, long size) {
        return new PciBar(index, PciBar.Kind.MEMORY_32, false, size);
    }

    /** A function with the given memory BARs (every other slot empty) and MSI-X layout (null for none). */
    private static PciFunction device(int vendor, int deviceId, List<PciBar> memoryBars, MsixLayout msix) {
        List<PciBar> bars = new ArrayList<>();
        for (int index = 0; index < 6; index++) {
            int slot = index;
            bars.add(memoryBars.stream().filter(bar -> bar.index() == slot).findFirst().orElse(new PciBar(slot, PciBar.Kind.EMPTY, false, 0)));
        }
        return new PciFunction(PciAddress.parse("0000:01:00.0"), vendor, deviceId, 0x020000, OptionalInt.empty(), OptionalInt.of(1), Optional.of("vfio-pci"),
                bars, List.of(), Optional.ofNullable(msix), Optional.empty(), Optional.empty(), List.of(), "pci0000:00", List.of(), 4096, List.of());
    }
}
