package io.vfiotune.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vfiotune.engine.XmlPreservation;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.xml.engine.PlanResult;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The whole plan, XML in, against the T4-pair host: XML out or a finding.
 * Properties checked on every input:
 * - no exception but a VfioTuneException escapes;
 * - an unannotated input comes back as the very same bytes;
 * - an annotated output is well-formed, keeps every element, attribute and
 *   text of the input (but an automatic hostdev alias, which becomes a ua-
 *   alias as documented), and is a fixed point of a second plan.
 */
class PlanFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void plan(byte[] input) throws Exception {
        check(input);
    }

    static void check(byte[] input) throws Exception {
        PlanResult result;
        try {
            result = FuzzHost.PLANNER.plan(input, FuzzHost.HOST);
        } catch (VfioTuneException refused) {
            assertTrue(refused.finding().code().matches("[A-Z][A-Z0-9-]+"), refused.finding().toString());
            return;
        }
        if (!result.annotated()) {
            assertArrayEquals(input, result.output().orElseThrow(), "an unannotated domain is returned byte for byte");
            return;
        }
        if (result.output().isEmpty()) {
            assertTrue(result.refused(), "no output only when refused");
            return;
        }
        String in = new String(input, StandardCharsets.UTF_8);
        String out = new String(result.output().get(), StandardCharsets.UTF_8);
        if (result.findings().stream().anyMatch(finding -> finding.code().equals("POLICY-NONE"))) {
            // a host policy's annotation no rule selects any more: it and everything it generated go, and only that
            assertTrue(!out.contains("urn:vfio-tune:1"), "nothing of vfio-tune's is left: " + out);
        } else {
            List<String> lost = XmlPreservation.lostUndocumented(in, out);
            assertTrue(lost.isEmpty(), "lost: " + lost);
        }
        PlanResult again = FuzzHost.PLANNER.plan(result.output().get(), FuzzHost.HOST);
        assertEquals(out, new String(again.output().orElseThrow(), StandardCharsets.UTF_8), "a second plan is a fixed point");
    }
}
