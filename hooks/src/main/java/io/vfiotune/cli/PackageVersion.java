package io.vfiotune.cli;

/**
 * The version as the Debian package spells it, which is what
 * {@code vfio-tune --version} prints. jdeb (snapshotExpand off) derives the
 * package version from the pom's by turning the hyphen of a qualifier into a
 * tilde, in lower case: {@code 0.1.0-SNAPSHOT} becomes {@code 0.1.0~snapshot}, which dpkg sorts
 * before the release {@code 0.1.0}. The package test compares this with what
 * dpkg reports, so a change in jdeb's rule fails there.
 */
final class PackageVersion {
    private PackageVersion() {
    }

    static String debian(String pomVersion) {
        return pomVersion.replace('-', '~').toLowerCase(java.util.Locale.ROOT);
    }

    /** This build's version, from the jar's manifest (the pom's version); the pom's own when run from class directories. */
    static String current() {
        String version = Main.class.getPackage().getImplementationVersion();
        return debian(version == null ? "0.1.0-SNAPSHOT" : version);
    }
}
