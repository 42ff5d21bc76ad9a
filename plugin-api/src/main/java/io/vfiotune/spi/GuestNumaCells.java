package io.vfiotune.spi;

import static java.util.Objects.requireNonNull;

import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Which guest NUMA cell stands for a host NUMA node. It is the cell the domain's
 * {@code <numatune><memnode cellid= nodeset=>} binds to that node, never the
 * host node's number: the user numbers guest cells from 0 without gaps, the
 * firmware numbers host nodes (a two-socket POWER9 has nodes 0 and 8). Without
 * memnodes a cell is used only where it cannot be wrong, a guest with a single
 * cell; every other node is left unmapped, with the exact memnode that would map
 * it. Everything that places devices by host locality (sPAPR PHBs, guest
 * topology) asks here, so the rule is the same everywhere.
 */
public final class GuestNumaCells {
    /**
     * How one host node maps.
     *
     * @param guestCell the guest cell, empty when none can be chosen
     * @param explanation why that cell, or why none and what to add to the domain
     */
    public record Mapping(int hostNode, OptionalInt guestCell, String explanation) {
        public Mapping {
            requireNonNull(explanation, "explanation is null");
        }
    }

    private final SortedSet<Integer> cells;
    private final List<NumaMemnode> memnodes;

    public GuestNumaCells(Collection<Integer> cells, List<NumaMemnode> memnodes) {
        this.cells = new TreeSet<>(requireNonNull(cells, "cells is null"));
        // libvirt refuses a memnode for a cell the guest does not define; such a one binds nothing here
        this.memnodes = requireNonNull(memnodes, "memnodes is null").stream().filter(memnode -> this.cells.contains(memnode.cellId())).toList();
    }

    /** A cell with neither CPUs nor memory (a Grace GPU's Generic Initiator node) holds nothing a device could sit near, and is left out. */
    public static GuestNumaCells of(DomainView domain) {
        List<Integer> cells = domain.numaCellDetails().stream().filter(cell -> cell.hasCpus() || cell.memoryKiB() > 0).map(GuestNumaCell::id).toList();
        return new GuestNumaCells(cells, domain.numaMemnodes());
    }

    /**
     * Maps every host node of {@code hostNodes}, in ascending order. The memnodes
     * suggested for unmapped nodes take distinct guest cells (the lowest cells
     * without a memnode), so following all of the advice gives a valid domain.
     */
    public Map<Integer, Mapping> map(Collection<Integer> hostNodes) {
        Set<Integer> boundCells = memnodes.stream().map(NumaMemnode::cellId).collect(Collectors.toSet());
        Deque<Integer> freeCells = new ArrayDeque<>(cells.stream().filter(cell -> !boundCells.contains(cell)).toList());
        // a guest without cells gets the advice to define them, numbered from 0
        int nextNewCell = cells.isEmpty() ? 0 : cells.last() + 1;
        Map<Integer, Mapping> mappings = new LinkedHashMap<>();
        for (int hostNode : new TreeSet<>(hostNodes)) {
            SortedSet<Integer> binding = new TreeSet<>();
            memnodes.stream().filter(memnode -> memnode.binds(hostNode)).forEach(memnode -> binding.add(memnode.cellId()));
            if (binding.size() == 1) {
                int cell = binding.first();
                mappings.put(hostNode, new Mapping(hostNode, OptionalInt.of(cell), "<numatune><memnode cellid='" + cell + "'> binds host node " + hostNode));
                continue;
            }
            if (binding.size() > 1) {
                mappings.put(hostNode, unmapped(hostNode, "<numatune> binds host node " + hostNode + " to guest cells " + list(binding)
                        + ", so no single cell is on it; keep it in the nodeset of one <memnode> only"));
                continue;
            }
            if (memnodes.isEmpty() && cells.size() == 1) {
                int cell = cells.first();
                mappings.put(hostNode, new Mapping(hostNode, OptionalInt.of(cell), "guest cell " + cell + " is the guest's only NUMA cell"));
                continue;
            }
            String why = cells.isEmpty() ? "the guest defines no NUMA cells"
                    : memnodes.isEmpty() ? "the guest has NUMA cells " + list(cells) + " and no <numatune><memnode>, so nothing says which one is on host node " + hostNode
                    : "no <numatune><memnode> binds host node " + hostNode;
            String fix;
            if (cells.isEmpty()) {
                int cell = nextNewCell++;
                fix = "define guest cell " + cell + " under <cpu><numa> and add " + memnode(cell, hostNode, true);
            } else if (!freeCells.isEmpty()) {
                fix = "add " + memnode(freeCells.pollFirst(), hostNode, memnodes.isEmpty());
            } else if (memnodes.isEmpty()) {
                int cell = nextNewCell++;
                fix = "define guest cell " + cell + " under <cpu><numa> and add " + memnode(cell, hostNode, true);
            } else {
                fix = "every guest cell has a <memnode> already: add host node " + hostNode + " to the nodeset of the one that should hold the device";
            }
            mappings.put(hostNode, unmapped(hostNode, why + "; " + fix));
        }
        return mappings;
    }

    /** One host node's mapping; see {@link #map(Collection)}. */
    public Mapping map(int hostNode) {
        return map(List.of(hostNode)).get(hostNode);
    }

    /** The memnode to add; a domain without memnodes may have no {@code <numatune>} at all yet. */
    private static String memnode(int cell, int hostNode, boolean numatuneMayBeMissing) {
        return "<memnode cellid='" + cell + "' mode='strict' nodeset='" + hostNode + "'/> to "
                + (numatuneMayBeMissing ? "the domain's <numatune> (creating it if needed)" : "<numatune>");
    }

    private static Mapping unmapped(int hostNode, String explanation) {
        return new Mapping(hostNode, OptionalInt.empty(), explanation);
    }

    /** 0, 1, 2 as "0-2"; gaps as "0, 2". */
    private static String list(SortedSet<Integer> values) {
        List<Integer> sorted = List.copyOf(values);
        boolean contiguous = sorted.size() > 2 && sorted.get(sorted.size() - 1) - sorted.get(0) == sorted.size() - 1;
        return contiguous ? sorted.get(0) + "-" + sorted.get(sorted.size() - 1) : sorted.stream().map(String::valueOf).collect(Collectors.joining(", "));
    }
}
