package io.vfiotune.xml.annotations;

import jakarta.xml.bind.annotation.XmlAccessType;
import jakarta.xml.bind.annotation.XmlAccessorType;
import jakarta.xml.bind.annotation.XmlAttribute;
import jakarta.xml.bind.annotation.XmlElement;
import jakarta.xml.bind.annotation.XmlElements;

import java.util.ArrayList;
import java.util.List;

/** {@code <vt:generated>}: vfio-tune's record of its own output. */
@XmlAccessorType(XmlAccessType.FIELD)
public class GeneratedElement {
    @XmlElements({
        @XmlElement(name = "alias", type = Item.Alias.class),
        @XmlElement(name = "property", type = Item.Property.class),
        @XmlElement(name = "set", type = Item.SetArgument.class),
        @XmlElement(name = "fw-cfg", type = Item.FirmwareConfig.class),
        @XmlElement(name = "arg", type = Item.Argument.class),
        @XmlElement(name = "container", type = Item.Container.class)
    })
    List<Item> items = new ArrayList<>();

    public List<Item> items() {
        return items;
    }

    @XmlAccessorType(XmlAccessType.FIELD)
    public abstract static class Item {
        /** An alias vfio-tune gave a hostdev that had none, or only an automatic one ({@code was}). */
        public static class Alias extends Item {
            @XmlAttribute(name = "host")
            public String host;
            @XmlAttribute(name = "name")
            public String name;
            @XmlAttribute(name = "was")
            public String was;
        }

        /** A {@code <qemu:property>} under {@code <qemu:override>}. */
        public static class Property extends Item {
            @XmlAttribute(name = "alias")
            public String alias;
            @XmlAttribute(name = "name")
            public String name;
        }

        /** A {@code -set device.ALIAS.NAME=...} pair in {@code <qemu:commandline>}. */
        public static class SetArgument extends Item {
            @XmlAttribute(name = "alias")
            public String alias;
            @XmlAttribute(name = "name")
            public String name;
        }

        /** A {@code -fw_cfg name=NAME,string=...} pair in {@code <qemu:commandline>}. */
        public static class FirmwareConfig extends Item {
            @XmlAttribute(name = "name")
            public String name;
            /** what was written, so a re-plan takes back only an item the user has not changed */
            @XmlAttribute(name = "value")
            public String value;
        }

        /** An {@code OPTION VALUE} pair in {@code <qemu:commandline>} (Grace's -numa and -object), taken back exactly as written. */
        public static class Argument extends Item {
            @XmlAttribute(name = "option")
            public String option;
            @XmlAttribute(name = "value")
            public String value;
        }

        /** A qemu: container element vfio-tune created; removed again when it is left empty. */
        public static class Container extends Item {
            @XmlAttribute(name = "kind")
            public String kind;
            @XmlAttribute(name = "alias")
            public String alias;
        }
    }
}
