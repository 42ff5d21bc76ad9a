package io.vfiotune.xml.transforms.cliques;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import java.util.List;

/** Derived cliques are sets of mutual peers, the largest first, ties to the lowest addresses (candidates come in address order). */
class CliquePartitionTest {
    private static boolean[][] peers(int size, int[]... pairs) {
        boolean[][] peers = new boolean[size][size];
        for (int[] pair : pairs) {
            peers[pair[0]][pair[1]] = true;
            peers[pair[1]][pair[0]] = true;
        }
        return peers;
    }

    @Test
    void peeringIsNotTransitive() {
        // 0-1 and 0-2 peer, 1-2 do not: union-find would join all three.
        assertEquals(List.of(0, 1), GpuDirectCliqueTransform.largestClique(List.of(0, 1, 2), peers(3, new int[] {0, 1}, new int[] {0, 2})));
    }

    @Test
    void theLargestSetWinsOverTheLowestAddress() {
        // 0-1 peer; 1, 2, 3 all peer with each other: {1, 2, 3} is larger than {0, 1}.
        boolean[][] peers = peers(4, new int[] {0, 1}, new int[] {1, 2}, new int[] {1, 3}, new int[] {2, 3});
        assertEquals(List.of(1, 2, 3), GpuDirectCliqueTransform.largestClique(List.of(0, 1, 2, 3), peers));
    }

    @Test
    void noPeersGivesASingleton() {
        assertEquals(List.of(0), GpuDirectCliqueTransform.largestClique(List.of(0, 1), peers(2)));
    }
}
