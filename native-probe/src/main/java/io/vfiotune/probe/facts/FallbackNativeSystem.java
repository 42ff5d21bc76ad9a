package io.vfiotune.probe.facts;

import java.util.function.Supplier;

/** Tries the native implementation first and uses the fallback when it cannot load or fails. */
final class FallbackNativeSystem implements NativeSystem {
    private final Supplier<NativeSystem> primaryLoader;
    private final NativeSystem fallback;
    private NativeSystem primary;
    private boolean primaryFailed;

    FallbackNativeSystem(Supplier<NativeSystem> primaryLoader, NativeSystem fallback) {
        this.primaryLoader = primaryLoader;
        this.fallback = fallback;
    }

    @Override
    public synchronized String machine() {
        NativeSystem system = primary();
        if (system != null) {
            try {
                return system.machine();
            } catch (RuntimeException | LinkageError e) {
                primaryFailed = true;
            }
        }
        return fallback.machine();
    }

    @Override
    public synchronized long pageSize() {
        NativeSystem system = primary();
        if (system != null) {
            try {
                return system.pageSize();
            } catch (RuntimeException | LinkageError e) {
                primaryFailed = true;
            }
        }
        return fallback.pageSize();
    }

    private NativeSystem primary() {
        if (primary == null && !primaryFailed) {
            try {
                primary = primaryLoader.get();
            } catch (RuntimeException | LinkageError e) {
                primaryFailed = true;
            }
        }
        return primaryFailed ? null : primary;
    }
}
