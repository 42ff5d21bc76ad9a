package io.vfiotune.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vfiotune.pci.PciCapability;
import io.vfiotune.probe.sysfs.ConfigSpace;

/**
 * The config-space decoder on arbitrary bytes, as a hostile or broken device
 * (or a corrupt sysfs) could present them: it never throws, never loops, and
 * everything it reports lies inside what it was given.
 */
class ConfigSpaceFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void decode(byte[] bytes) {
        ConfigSpace config = ConfigSpace.decode(bytes, "fuzz");
        config.readsAllOnes();
        config.headerType();
        config.portType();
        config.acs();
        for (int index = 0; index < 6; index++) {
            config.barRegister(index);
        }
        for (PciCapability capability : config.capabilities()) {
            assertTrue(capability.offset() >= 0x40 && capability.offset() < bytes.length, "capability outside the config space: " + capability);
        }
        config.msix().ifPresent(msix -> {
            assertTrue(msix.tableBar() >= 0 && msix.tableBar() <= 7 && msix.pbaBar() >= 0 && msix.pbaBar() <= 7, msix.toString());
            assertTrue(msix.vectors() >= 1 && msix.vectors() <= 2048, msix.toString());
        });
        assertTrue(config.faults().stream().allMatch(fault -> fault.code().startsWith("PROBE-")), config.faults().toString());
    }
}
