package io.vfiotune.cli;

import picocli.CommandLine.Option;

/** The libvirt connection of the commands that talk to libvirt ({@code apply}, {@code watch}). */
final class ConnectOption {
    @Option(names = {"-c", "--connect"}, paramLabel = "URI", description = "libvirt URI (default qemu:///system).")
    String uri = "qemu:///system";
}
