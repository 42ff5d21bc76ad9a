package io.vfiotune.planning;

import java.util.ArrayList;
import java.util.List;

/** A plain unified diff of two texts by lines (LCS), enough for domain-sized documents. */
public final class UnifiedDiff {
    private static final int CONTEXT = 3;

    private UnifiedDiff() {
    }

    public static String diff(String oldName, String oldText, String newName, String newText) {
        List<String> a = lines(oldText);
        List<String> b = lines(newText);
        int[][] common = new int[a.size() + 1][b.size() + 1];
        for (int i = a.size() - 1; i >= 0; i--) {
            for (int j = b.size() - 1; j >= 0; j--) {
                common[i][j] = a.get(i).equals(b.get(j)) ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
            }
        }
        // Edit script: ' ' keep, '-' delete from a, '+' insert from b.
        List<char[]> ops = new ArrayList<>();
        List<int[]> positions = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < a.size() || j < b.size()) {
            if (i < a.size() && j < b.size() && a.get(i).equals(b.get(j))) {
                ops.add(new char[] {' '});
                positions.add(new int[] {i++, j++});
            } else if (j < b.size() && (i == a.size() || common[i][j + 1] >= common[i + 1][j])) {
                ops.add(new char[] {'+'});
                positions.add(new int[] {i, j++});
            } else {
                ops.add(new char[] {'-'});
                positions.add(new int[] {i++, j});
            }
        }
        StringBuilder out = new StringBuilder();
        int index = 0;
        while (index < ops.size()) {
            if (ops.get(index)[0] == ' ') {
                index++;
                continue;
            }
            int start = Math.max(0, index - CONTEXT);
            int end = index;
            int lastChange = index;
            while (end < ops.size() && (ops.get(end)[0] != ' ' || end - lastChange <= 2 * CONTEXT)) {
                if (ops.get(end)[0] != ' ') {
                    lastChange = end;
                }
                end++;
            }
            end = Math.min(ops.size(), lastChange + CONTEXT + 1);
            if (out.length() == 0) {
                out.append("--- ").append(oldName).append('\n').append("+++ ").append(newName).append('\n');
            }
            int oldStart = positions.get(start)[0];
            int newStart = positions.get(start)[1];
            int oldCount = 0;
            int newCount = 0;
            StringBuilder hunk = new StringBuilder();
            for (int k = start; k < end; k++) {
                char op = ops.get(k)[0];
                int[] position = positions.get(k);
                String line = op == '+' ? b.get(position[1]) : a.get(position[0]);
                hunk.append(op).append(line).append('\n');
                oldCount += op != '+' ? 1 : 0;
                newCount += op != '-' ? 1 : 0;
            }
            out.append("@@ -").append(oldStart + (oldCount > 0 ? 1 : 0)).append(',').append(oldCount)
                    .append(" +").append(newStart + (newCount > 0 ? 1 : 0)).append(',').append(newCount).append(" @@\n").append(hunk);
            index = end;
        }
        return out.toString();
    }

    private static List<String> lines(String text) {
        List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
        if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
            lines.remove(lines.size() - 1);
        }
        return lines;
    }
}
