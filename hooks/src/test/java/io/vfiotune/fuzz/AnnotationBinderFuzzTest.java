package io.vfiotune.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vfiotune.spi.VfioTuneException;

import java.nio.charset.StandardCharsets;

/**
 * The annotation binder on arbitrary text: it binds, or it refuses with a
 * finding (VfioTuneException, of which AnnotationException is one). Any other
 * exception escaping is a crash Jazzer reports.
 */
class AnnotationBinderFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void bind(byte[] standaloneXml) {
        try {
            FuzzHost.BINDER.bind(new String(standaloneXml, StandardCharsets.UTF_8));
        } catch (VfioTuneException expected) {
            // a refusal with a code is the right answer to bad input
        }
    }
}
