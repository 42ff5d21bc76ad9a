package io.vfiotune.cli;

import io.vfiotune.apply.DomainApplier;
import io.vfiotune.gate.ResidentGate;
import io.vfiotune.planning.FactsOptions;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import org.libvirt.Connect;
import org.libvirt.Library;
import org.libvirt.LibvirtException;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.LifecycleListener;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The define-time plan as a service: every DEFINED event of an annotated
 * domain is applied, so {@code virsh define} and {@code virsh edit} need no
 * extra step.
 *
 * <p>Our own redefinition raises a DEFINED event too. It cannot loop: the plan
 * of libvirt's re-serialisation of a planned definition is a fixed point
 * ("already fits"), which the golden cases and the apply tests check. A
 * domain redefined by us more than {@link #LOOP_LIMIT} times within
 * {@link #LOOP_WINDOW} is left alone anyway, with an error, in case a site
 * transform is not idempotent. Events are only queued by libvirt's event
 * thread; the applying happens on this thread, so a slow plan never stalls
 * event delivery.
 */
@Command(name = "watch", description = "Apply plans whenever libvirt defines or redefines an annotated domain (a long-running service).")
final class WatchCommand implements Callable<Integer> {
    static final int LOOP_LIMIT = 3;
    static final Duration LOOP_WINDOW = Duration.ofSeconds(30);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    @ParentCommand
    Main main;

    @Mixin
    FactsOptions facts;

    @Mixin
    ConnectOption connect;

    private final BlockingQueue<String> pending = new LinkedBlockingQueue<>();
    private final Map<String, Deque<Long>> redefinitions = new HashMap<>();
    private final Set<String> leftAlone = new TreeSet<>();

    @Override
    public Integer call() throws InterruptedException {
        try {
            Library.initEventLoop();
        } catch (LibvirtException e) {
            main.console.err().println(Finding.error("LIBVIRT-ERROR", connect.uri, "cannot start libvirt's event loop: " + e.getMessage()).format());
            return ExitStatus.USAGE_OR_INTERNAL.code();
        }
        // The warm JVM also answers the hook's prepare gate, so a VM start need not pay for a cold plan.
        ResidentGate.start(main.console, HookJudge.INSTANCE).ifPresent(gate -> Runtime.getRuntime().addShutdownHook(new Thread(gate::close, "vfio-tune-gate-stop")));
        Thread events = new Thread(WatchCommand::runEventLoop, "libvirt-events");
        events.setDaemon(true);
        events.start();
        DomainApplier applier = new DomainApplier(main.console, facts);
        Duration backoff = Duration.ofSeconds(1);
        while (!Thread.currentThread().isInterrupted()) {
            AtomicBoolean closed = new AtomicBoolean();
            Connect connection = null;
            try {
                connection = new Connect(connect.uri);
                connection.registerCloseListener((source, reason) -> closed.set(true));
                connection.addLifecycleListener(queueDefinitions());
                say("watching " + connect.uri);
                backoff = Duration.ofSeconds(1);
                // Events are not replayed: whatever was defined while we were away is caught up now.
                sweep(connection);
                String why = serve(connection, applier, closed);
                main.console.err().println(Finding.warning("WATCH-DISCONNECTED", connect.uri, why + "; reconnecting in " + backoff.toSeconds() + " s").format());
                main.console.err().flush();
            } catch (LibvirtException e) {
                main.console.err().println(Finding.warning("WATCH-DISCONNECTED", connect.uri, e.getMessage().strip() + "; retrying in " + backoff.toSeconds() + " s").format());
                main.console.err().flush();
            } finally {
                closeQuietly(connection);
            }
            TimeUnit.MILLISECONDS.sleep(backoff.toMillis());
            backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
        }
        return ExitStatus.OK.code();
    }

    private LifecycleListener queueDefinitions() {
        return (domain, event) -> {
            if (event.getType() == DomainEventType.DEFINED) {
                try {
                    pending.add(domain.getName());
                } catch (LibvirtException e) {
                    // The domain went away between the event and now; nothing to apply.
                }
            }
            return 0;
        };
    }

    /** Applies queued names until the connection goes; says why it went. */
    private String serve(Connect connection, DomainApplier applier, AtomicBoolean closed) throws LibvirtException, InterruptedException {
        while (!closed.get()) {
            String name = pending.poll(1, TimeUnit.SECONDS);
            if (name == null) {
                if (!connection.isAlive()) {
                    return "the connection to libvirt is gone";
                }
                continue;
            }
            // A burst of events for one domain (ours included) needs one plan.
            Set<String> batch = new LinkedHashSet<>(List.of(name));
            pending.drainTo(batch);
            for (String domain : batch) {
                applyOnce(connection, applier, domain);
            }
        }
        return "libvirt closed the connection";
    }

    private void applyOnce(Connect connection, DomainApplier applier, String name) throws LibvirtException {
        if (leftAlone.contains(name)) {
            return;
        }
        DomainApplier.Applied applied = applier.apply(connection, name);
        if (applied.outcome() != DomainApplier.Outcome.REDEFINED) {
            return;
        }
        long now = System.nanoTime();
        Deque<Long> times = redefinitions.computeIfAbsent(name, key -> new ArrayDeque<>());
        times.addLast(now);
        while (!times.isEmpty() && now - times.peekFirst() > LOOP_WINDOW.toNanos()) {
            times.removeFirst();
        }
        if (times.size() > LOOP_LIMIT) {
            leftAlone.add(name);
            main.console.err().println(Finding.error("WATCH-LOOP", "domain " + name, "redefined " + times.size() + " times within " + LOOP_WINDOW.toSeconds()
                    + " s: the plan is not a fixed point of libvirt's own serialisation (a site transform?); leaving it alone until watch restarts").format());
            main.console.err().flush();
        }
    }

    private void sweep(Connect connection) throws LibvirtException {
        Set<String> names = new TreeSet<>(List.of(connection.listDefinedDomains()));
        for (int id : connection.listDomains()) {
            names.add(connection.domainLookupByID(id).getName());
        }
        pending.addAll(names);
    }

    private void say(String message) {
        main.console.out().println("vfio-tune: " + message);
        main.console.out().flush();
    }

    private static void runEventLoop() {
        while (true) {
            try {
                Library.runEventLoop();
            } catch (LibvirtException e) {
                // The loop only ends on an internal libvirt error; keep serving events.
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static void closeQuietly(Connect connection) {
        if (connection == null) {
            return;
        }
        try {
            connection.close();
        } catch (LibvirtException e) {
            // Already gone; the next loop opens a fresh one.
        }
    }
}
