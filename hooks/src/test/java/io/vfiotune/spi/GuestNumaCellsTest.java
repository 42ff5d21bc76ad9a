package io.vfiotune.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/** The host node to guest cell rule of the contract, and libvirt's nodeset syntax. */
class GuestNumaCellsTest {
    @Test
    void memnodeDecidesNeverTheHostNodeNumber() {
        GuestNumaCells cells = new GuestNumaCells(List.of(0, 1), List.of(new NumaMemnode(0, "8"), new NumaMemnode(1, "0")));
        Map<Integer, GuestNumaCells.Mapping> mappings = cells.map(List.of(0, 8));
        assertEquals(OptionalInt.of(1), mappings.get(0).guestCell());
        assertEquals(OptionalInt.of(0), mappings.get(8).guestCell());
        assertEquals("<numatune><memnode cellid='0'> binds host node 8", mappings.get(8).explanation());
    }

    @Test
    void hostNodeBoundToTwoCellsIsAmbiguous() {
        GuestNumaCells cells = new GuestNumaCells(List.of(0, 1), List.of(new NumaMemnode(0, "0-1"), new NumaMemnode(1, "0,8")));
        GuestNumaCells.Mapping mapping = cells.map(0);
        assertFalse(mapping.guestCell().isPresent());
        assertTrue(mapping.explanation().contains("binds host node 0 to guest cells 0, 1"), mapping.explanation());
        assertEquals(OptionalInt.of(1), cells.map(8).guestCell());
    }

    @Test
    void unboundNodeGetsTheFirstCellWithoutAMemnode() {
        GuestNumaCells cells = new GuestNumaCells(List.of(0, 1, 2), List.of(new NumaMemnode(1, "0")));
        Map<Integer, GuestNumaCells.Mapping> mappings = cells.map(List.of(0, 8, 16));
        assertEquals(OptionalInt.of(1), mappings.get(0).guestCell());
        assertEquals("no <numatune><memnode> binds host node 8; add <memnode cellid='0' mode='strict' nodeset='8'/> to <numatune>", mappings.get(8).explanation());
        assertEquals("no <numatune><memnode> binds host node 16; add <memnode cellid='2' mode='strict' nodeset='16'/> to <numatune>", mappings.get(16).explanation());
    }

    @Test
    void everyCellBoundElsewhereAsksToExtendANodeset() {
        GuestNumaCells.Mapping mapping = new GuestNumaCells(List.of(0), List.of(new NumaMemnode(0, "0"))).map(8);
        assertFalse(mapping.guestCell().isPresent());
        assertTrue(mapping.explanation().endsWith("every guest cell has a <memnode> already: add host node 8 to the nodeset of the one that should hold the device"), mapping.explanation());
    }

    @Test
    void withoutMemnodesOnlyASingleCellIsUsed() {
        assertEquals(OptionalInt.of(0), new GuestNumaCells(List.of(0), List.of()).map(8).guestCell());
        Map<Integer, GuestNumaCells.Mapping> mappings = new GuestNumaCells(List.of(0, 1), List.of()).map(List.of(8, 0));
        assertFalse(mappings.get(0).guestCell().isPresent());
        assertTrue(mappings.get(0).explanation().endsWith("add <memnode cellid='0' mode='strict' nodeset='0'/> to the domain's <numatune> (creating it if needed)"),
                mappings.get(0).explanation());
        assertTrue(mappings.get(8).explanation().contains("<memnode cellid='1' mode='strict' nodeset='8'/>"), "suggestions never share a cell");
        GuestNumaCells.Mapping third = new GuestNumaCells(List.of(0, 1), List.of()).map(List.of(0, 8, 16)).get(16);
        assertTrue(third.explanation().contains("define guest cell 2 under <cpu><numa>"), third.explanation());
    }

    @Test
    void guestWithoutCellsIsToldToDefineThem() {
        Map<Integer, GuestNumaCells.Mapping> mappings = new GuestNumaCells(List.of(), List.of()).map(List.of(0, 8));
        assertEquals("the guest defines no NUMA cells; define guest cell 1 under <cpu><numa> and add <memnode cellid='1' mode='strict' nodeset='8'/>"
                + " to the domain's <numatune> (creating it if needed)", mappings.get(8).explanation());
    }

    @Test
    void memnodeOfAMissingCellBindsNothing() {
        GuestNumaCells.Mapping mapping = new GuestNumaCells(List.of(0), List.of(new NumaMemnode(3, "8"))).map(8);
        assertEquals(OptionalInt.of(0), mapping.guestCell(), "libvirt refuses cellid 3 here, so the guest's only cell stands");
    }

    @Test
    void nodesetSyntaxAsLibvirtParsesIt() {
        NumaMemnode memnode = new NumaMemnode(0, "0-3,^2, 8");
        assertTrue(memnode.binds(0) && memnode.binds(3) && memnode.binds(8));
        assertFalse(memnode.binds(2) || memnode.binds(4) || memnode.binds(9));
        assertTrue(new NumaMemnode(0, "2147483646-2147483647").binds(2147483647), "a huge range costs nothing");
        for (String invalid : new String[] {"", "x", "3-1", "^0-2", "-1", "0,,1", "0-"}) {
            assertFalse(new NumaMemnode(0, invalid).binds(0), invalid);
        }
    }
}
