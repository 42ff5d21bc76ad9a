package io.vfiotune.probe.facts;

import io.vfiotune.spi.Version;

/** Reads the libvirt library version without a connection, so it is safe inside a hook. */
public interface LibvirtVersionSource {
    Version libvirtVersion();

    static LibvirtVersionSource library() {
        return () -> {
            try {
                return Version.fromPacked(org.libvirt.Library.getVersion());
            } catch (org.libvirt.LibvirtException e) {
                throw new IllegalStateException("virGetVersion failed: " + e.getMessage(), e);
            }
        };
    }
}
