package io.vfiotune.stack;

import io.vfiotune.golden.Libvirt;

import java.nio.file.Path;
import java.util.List;

/** The machine's own Debian 12 libvirt and QEMU, with the libvirtd the test command starts. */
final class HostStack extends Stack {
    private final Path staging;

    HostStack(Path staging) {
        this.staging = staging;
    }

    @Override
    public String name() {
        return "debian12";
    }

    @Override
    public String distribution() {
        return "Debian 12";
    }

    @Override
    public Libvirt.Result run(List<String> command, int timeoutSeconds) {
        if (command.get(0).equals("virsh")) {
            Libvirt.ensureRunning();
        }
        return Libvirt.run(command, timeoutSeconds);
    }

    @Override
    protected Path stagingDirectory() {
        return staging;
    }

    @Override
    public String inside(Path hostPath) {
        return hostPath.toAbsolutePath().toString();
    }

    @Override
    public Path outside(String stackPath) {
        return Path.of(stackPath);
    }
}
