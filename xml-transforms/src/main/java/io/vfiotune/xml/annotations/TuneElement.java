package io.vfiotune.xml.annotations;

import jakarta.xml.bind.annotation.XmlAccessType;
import jakarta.xml.bind.annotation.XmlAccessorType;
import jakarta.xml.bind.annotation.XmlAttribute;
import jakarta.xml.bind.annotation.XmlElement;
import jakarta.xml.bind.annotation.XmlRootElement;

import java.util.ArrayList;
import java.util.List;

/** {@code <vt:tune>}. Values are strings here; the schema has already restricted them. */
@XmlRootElement(name = "tune")
@XmlAccessorType(XmlAccessType.FIELD)
public class TuneElement {
    @XmlAttribute(name = "on-mismatch")
    String onMismatch;

    @XmlElement(name = "cliques")
    ModeElement cliques;

    @XmlElement(name = "msix-relocation")
    ModeElement msixRelocation;

    @XmlElement(name = "spapr-phbs")
    ModeElement spaprPhbs;

    @XmlElement(name = "igd")
    ModeElement igd;

    @XmlElement(name = "hostdev")
    List<HostdevElement> hostdevs = new ArrayList<>();

    @XmlElement(name = "generated")
    GeneratedElement generated;

    @XmlAccessorType(XmlAccessType.FIELD)
    public static class ModeElement {
        @XmlAttribute(name = "mode")
        String mode;
    }

    @XmlAccessorType(XmlAccessType.FIELD)
    public static class HostdevElement {
        @XmlAttribute(name = "host", required = true)
        String host;

        @XmlAttribute(name = "clique")
        String clique;

        @XmlAttribute(name = "msix-relocation")
        String msixRelocation;
    }
}
