package io.vfiotune.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.inject.AbstractModule;
import com.google.inject.Injector;
import io.vfiotune.golden.Libvirt;
import io.vfiotune.stack.Stacks;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainTransform;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.Severity;
import io.vfiotune.spi.TransformResult;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.wiring.VfioTune;
import io.vfiotune.xml.engine.DomainPlanner;
import io.vfiotune.xml.engine.PlanResult;
import io.vfiotune.xml.guice.TransformBindings;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The engine's device-property output, through a test-only transform that asks
 * for a clique and an MSI-X BAR on every hostdev when cliques are on. The real
 * transforms share this path, so its forms are checked against libvirt here.
 */
class DevicePropertyOutputTest {
    /** Test fixture transform: not a product rule, only a way to drive the engine. */
    static final class EveryHostdevTransform implements DomainTransform {
        @Override
        public String name() {
            return "test-every-hostdev";
        }

        @Override
        public int order() {
            return 0;
        }

        @Override
        public TransformResult plan(DomainView domain, HostTopology host) {
            if (domain.annotations().cliques() != TuneAnnotations.CliqueMode.AUTO) {
                return TransformResult.EMPTY;
            }
            List<DomainEdit> edits = domain.pciHostdevs().stream().map(HostdevView::source).<DomainEdit>mapMulti((source, sink) -> {
                sink.accept(new DomainEdit.SetDeviceProperty(source, "x-nv-gpudirect-clique", DomainEdit.PropertyType.UNSIGNED, "1"));
                sink.accept(new DomainEdit.SetDeviceProperty(source, "x-msix-relocation", DomainEdit.PropertyType.STRING, "bar2"));
            }).toList();
            return new TransformResult(edits, List.of());
        }
    }

    private static final String DOMAIN = """
            <domain type='qemu'>
              <name>props</name>
              <uuid>2c6e8f3a-0b4d-4c5e-9f7a-8b9c0d1e2f3a</uuid>
              <metadata>
                <vt:tune xmlns:vt="urn:vfio-tune:1">
                  <vt:cliques mode="auto"/>
                </vt:tune>
              </metadata>
              <memory unit='KiB'>219136</memory>
              <vcpu placement='static'>1</vcpu>
              <os>
                <type arch='x86_64' machine='pc'>hvm</type>
              </os>
              <devices>
                <emulator>/usr/bin/qemu-system-x86_64</emulator>
                <hostdev mode='subsystem' type='pci' managed='yes'>
                  <driver name='vfio'/>
                  <source>
                    <address domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>
                  </source>
                </hostdev>
                <hostdev mode='subsystem' type='pci' managed='yes'>
                  <driver name='vfio'/>
                  <source>
                    <address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>
                  </source>
                  <alias name='ua-nic'/>
                </hostdev>
                <memballoon model='none'/>
              </devices>
            </domain>
            """;

    @TempDir
    Path temporary;

    @BeforeAll
    static void startLibvirt() {
        Libvirt.ensureRunning();
    }

    @Test
    void overrideFormOnLibvirtNine() throws IOException {
        String output = planOk(DOMAIN, "9.0.0", "7.2.0");
        assertTrue(output.contains("<alias name='ua-vt-0000-05-00-0'/>"), output);
        assertTrue(output.contains("<qemu:device xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0' alias='ua-nic'>")
                || output.contains("<qemu:device alias='ua-nic'>"), output);
        String argv = argv(output);
        assertTrue(argv.contains("\"id\":\"ua-vt-0000-05-00-0\",\"bus\":\"pci.0\",\"addr\":\"0x2\",\"x-nv-gpudirect-clique\":1,\"x-msix-relocation\":\"bar2\""), argv);
        assertTrue(argv.contains("\"id\":\"ua-nic\",\"bus\":\"pci.0\",\"addr\":\"0x3\",\"x-nv-gpudirect-clique\":1,\"x-msix-relocation\":\"bar2\""), argv);
        assertFixedPoint(output, "9.0.0", "7.2.0");
    }

    @Test
    void setFormOnOldLibvirtAndQemu() throws IOException {
        String output = planOk(DOMAIN, "7.0.0", "5.2.0");
        assertTrue(output.contains("<qemu:arg value='device.ua-nic.x-nv-gpudirect-clique=1'/>"), output);
        assertFalse(output.contains("qemu:override"), output);
        // libvirt 9.0 on this machine still parses and validates the old form.
        assertTrue(Stacks.debian12().validate(write(output)).ok());
        assertTrue(argv(output).contains("-set device.ua-nic.x-msix-relocation=bar2"));
        assertFixedPoint(output, "7.0.0", "5.2.0");
    }

    @Test
    void refusesOldLibvirtWithNewQemu() {
        PlanResult result = plan(DOMAIN, "8.1.0", "6.2.0");
        assertTrue(result.refused());
        Finding finding = result.findings().get(0);
        assertEquals("OUTPUT-UNSUPPORTED", finding.code());
        assertTrue(finding.message().contains("libvirt 8.1.0 with QEMU 6.2.0"), finding.message());
    }

    @Test
    void userOverrideWinsWithAWarning() throws IOException {
        String withUserOverride = DOMAIN.replace("xmlns:qemu", "xmlns:unused").replace("<domain type='qemu'>",
                "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>").replace("</domain>", """
                  <qemu:override>
                    <qemu:device alias='ua-nic'>
                      <qemu:frontend>
                        <qemu:property name='x-nv-gpudirect-clique' type='unsigned' value='7'/>
                      </qemu:frontend>
                    </qemu:device>
                  </qemu:override>
                </domain>""");
        PlanResult result = plan(withUserOverride, "9.0.0", "7.2.0");
        String output = new String(result.output().orElseThrow(), StandardCharsets.UTF_8);
        assertTrue(result.findings().stream().anyMatch(finding -> finding.code().equals("OVERRIDE-CONFLICT") && finding.severity() == Severity.WARNING), result.findings().toString());
        assertTrue(argv(output).contains("\"id\":\"ua-nic\",\"bus\":\"pci.0\",\"addr\":\"0x3\",\"x-nv-gpudirect-clique\":7,\"x-msix-relocation\":\"bar2\""));
        assertFixedPoint(output, "9.0.0", "7.2.0");
    }

    @Test
    void turningTheFeatureOffTakesBackEverythingGenerated() {
        String output = planOk(DOMAIN, "9.0.0", "7.2.0");
        String off = output.replace("<vt:cliques mode=\"auto\"/>", "<vt:cliques mode=\"off\"/>");
        String reverted = planOk(off, "9.0.0", "7.2.0");
        assertEquals(DOMAIN.replace("<vt:cliques mode=\"auto\"/>", "<vt:cliques mode=\"off\"/>"), reverted);
    }

    private void assertFixedPoint(String output, String libvirt, String qemu) {
        assertEquals(output, planOk(output, libvirt, qemu), "planning the output again must change nothing");
    }

    private String planOk(String domain, String libvirt, String qemu) {
        PlanResult result = plan(domain, libvirt, qemu);
        assertFalse(result.refused(), result.findings().toString());
        return new String(result.output().orElseThrow(), StandardCharsets.UTF_8);
    }

    private PlanResult plan(String domain, String libvirt, String qemu) {
        HostSettings settings = HostSettings.of(Map.of(HostSettings.SYSFS_ROOT, temporary.toString(), HostSettings.LIBVIRT_VERSION, libvirt,
                HostSettings.QEMU_VERSION, qemu, HostSettings.ARCH, "x86_64", HostSettings.PAGE_SIZE, "4096"));
        Injector injector = VfioTune.engine(settings, List.of(new AbstractModule() {
            @Override
            protected void configure() {
                TransformBindings.declareTransforms(binder());
                TransformBindings.bindTransform(binder(), EveryHostdevTransform.class);
            }
        }));
        return injector.getInstance(DomainPlanner.class).plan(domain.getBytes(StandardCharsets.UTF_8), injector.getInstance(HostTopology.class));
    }

    private String argv(String output) throws IOException {
        Path file = write(output);
        assertTrue(Stacks.debian12().validate(file).ok(), Stacks.debian12().validate(file).toString());
        Libvirt.Result result = Stacks.debian12().domxmlToNative(file);
        assertTrue(result.ok(), result.stderr());
        return result.stdout();
    }

    private Path write(String output) throws IOException {
        Path file = Files.createTempFile(temporary, "domain", ".xml");
        Files.writeString(file, output);
        return file;
    }
}
