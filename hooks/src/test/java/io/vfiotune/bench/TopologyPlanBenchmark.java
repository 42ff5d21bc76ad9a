package io.vfiotune.bench;

import com.google.inject.Injector;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.wiring.VfioTune;
import io.vfiotune.xml.engine.DomainPlanner;
import io.vfiotune.xml.engine.PlanResult;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * What {@code <vt:topology mode='mirror'/>} adds to planning a domain: the
 * topology-dgx-a100-mirror golden input (16 hostdevs, four NUMA nodes) planned
 * with and without the annotation, in one process. Each plan gets a fresh
 * injector, so it reads the fixture's sysfs as the hook does (the probe reads
 * lazily and caches per run); the same process runs both, alternating, after a
 * warm-up, and reports medians and 90th percentiles. Run by src/scripts/bench-topology.
 */
public final class TopologyPlanBenchmark {
    private TopologyPlanBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args.length > 0 ? args[0] : ".");
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 301;
        Path golden = root.resolve("src/golden/topology-dgx-a100-mirror");
        Path sysfs = Files.createTempDirectory("vfio-tune-bench-topology");
        HostFixture.load(golden.resolve(Files.readString(golden.resolve("host.ref")).strip())).materialize(sysfs);
        byte[] mirrored = Files.readAllBytes(golden.resolve("input.xml"));
        String text = new String(mirrored, StandardCharsets.UTF_8);
        byte[] plain = text.replace("      <vt:topology mode=\"mirror\"/>\n", "").getBytes(StandardCharsets.UTF_8);
        if (Arrays.equals(plain, mirrored)) {
            throw new IllegalStateException("the golden input has no <vt:topology mode=\"mirror\"/> line to remove");
        }
        HostSettings settings = HostSettings.of(Map.of(HostSettings.SYSFS_ROOT, sysfs.toString()));
        for (int i = 0; i < runs; i++) {
            plan(settings, mirrored);
            plan(settings, plain);
        }
        long[] withMirror = new long[runs];
        long[] without = new long[runs];
        for (int i = 0; i < runs; i++) {
            withMirror[i] = plan(settings, mirrored);
            without[i] = plan(settings, plain);
        }
        Arrays.sort(withMirror);
        Arrays.sort(without);
        System.out.printf("plan of topology-dgx-a100-mirror (16 hostdevs, cliques auto), %d runs each after %d warm-up runs, fresh injector and sysfs reads per plan%n", runs, runs);
        System.out.printf("  without <vt:topology>: median %d us, p90 %d us%n", median(without), p90(without));
        System.out.printf("  with mode='mirror':    median %d us, p90 %d us%n", median(withMirror), p90(withMirror));
        System.out.printf("  ratio of medians: %.2f%n", (double) median(withMirror) / median(without));
    }

    private static long plan(HostSettings settings, byte[] input) {
        long started = System.nanoTime();
        Injector injector = VfioTune.injector(settings);
        PlanResult result = injector.getInstance(DomainPlanner.class).plan(input, injector.getInstance(HostTopology.class));
        long elapsed = (System.nanoTime() - started) / 1000;
        if (result.output().isEmpty()) {
            throw new IllegalStateException("the plan refused: " + result.findings());
        }
        return elapsed;
    }

    private static long median(long[] sorted) {
        return sorted[sorted.length / 2];
    }

    private static long p90(long[] sorted) {
        return sorted[(int) (sorted.length * 0.9)];
    }
}
