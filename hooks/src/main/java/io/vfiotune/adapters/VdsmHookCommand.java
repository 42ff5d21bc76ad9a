package io.vfiotune.adapters;

import io.vfiotune.planning.Console;
import io.vfiotune.planning.FactsOptions;
import io.vfiotune.planning.Planning;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.xml.engine.PlanResult;
import io.vfiotune.xml.tree.SecureXmlReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * oVirt VDSM's {@code before_vm_start} hook: the domain XML is in the file named by
 * {@code _hook_domxml}, which the hook edits; VM custom properties arrive as environment
 * variables. The {@code <vt:tune>} comes from the custom property {@code vfio_tune}, else from
 * the host policy. The file is replaced in one rename, so a hook killed at any point leaves
 * it whole, old or new. Exit 0 lets the start go on; 2 (refused) stops it and the other
 * hooks, with the findings on stderr, which VDSM reports; 1 for input or configuration it
 * cannot use (VDSM aborts a start on that too).
 */
@Command(name = "vdsm-before-vm-start", description = "oVirt VDSM before_vm_start hook: rewrite the file named by _hook_domxml in place;"
        + " the <vt:tune> comes from the VM custom property vfio_tune, else from the host policy. Exit 2 refuses the start.")
public final class VdsmHookCommand implements Callable<Integer> {
    static final String DOMAIN_FILE_VARIABLE = "_hook_domxml";
    static final String CUSTOM_PROPERTY = "vfio_tune";

    @ParentCommand
    Console.Owner main;

    @Override
    public Integer call() throws IOException {
        String named = main.console().environment().get(DOMAIN_FILE_VARIABLE);
        if (named == null || named.isBlank()) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("VDSM-NO-DOMAIN", DOMAIN_FILE_VARIABLE,
                    "not set: VDSM names the domain XML file in it; run this only as a before_vm_start hook"));
        }
        Path file = Path.of(named);
        byte[] input;
        try (InputStream in = Files.newInputStream(file)) {
            input = SecureXmlReader.readBounded(in, named);
        } catch (NoSuchFileException e) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("INPUT-UNREADABLE", named, "no such file"));
        }
        Optional<String> tune = Optional.ofNullable(main.console().environment().get(CUSTOM_PROPERTY)).filter(value -> !value.isBlank());
        PlanResult result = Planning.plan(main.console(), new FactsOptions(), input, tune);
        Planning.printFindings(main.console(), result);
        if (result.exitStatus().code() != 0) {
            return result.exitStatus().code();
        }
        if (result.changed()) {
            replace(file, result.output().orElseThrow());
        }
        return 0;
    }

    /**
     * Lets a test stop the hook between the synced sibling and the rename, the one moment a
     * kill could matter; never set by VDSM.
     */
    static final String PAUSE_PROPERTY = "vfio-tune.pause-before-rename-ms";

    /**
     * Writes a sibling, forces it to disk, and renames it over the file: readers see the old file
     * or the new one. A SIGTERM (VDSM's timeout) removes the sibling on the way out; only a SIGKILL
     * between the write and the rename can leave it, in VDSM's own temporary directory.
     */
    static void replace(Path file, byte[] content) throws IOException {
        Path directory = file.toAbsolutePath().getParent();
        Path temporary = Files.createTempFile(directory, "." + file.getFileName() + ".vfio-tune-", ".tmp");
        Thread cleanup = new Thread(() -> {
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException e) {
                // exiting anyway; the sibling is in VDSM's temporary directory
            }
        });
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            PosixFileAttributes attributes = Files.readAttributes(file, PosixFileAttributes.class);
            PosixFileAttributeView view = Files.getFileAttributeView(temporary, PosixFileAttributeView.class);
            view.setPermissions(attributes.permissions());
            try {
                view.setOwner(attributes.owner());
                view.setGroup(attributes.group());
            } catch (IOException e) {
                // VDSM runs hooks as vdsm, who owns the file anyway; keeping the owner matters only when run as root
            }
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buffer = ByteBuffer.wrap(content);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            pauseForTests();
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException e) {
                // already shutting down: the hook runs, harmlessly, on a file that is gone
            }
        }
    }

    private static void pauseForTests() {
        long pause = Long.getLong(PAUSE_PROPERTY, 0L);
        if (pause > 0) {
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
