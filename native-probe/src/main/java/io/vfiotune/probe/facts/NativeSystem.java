package io.vfiotune.probe.facts;

/** The two libc facts vfio-tune needs. */
public interface NativeSystem {
    /** {@code uname().machine}, e.g. {@code x86_64}, {@code ppc64le}, {@code aarch64}. */
    String machine();

    /** {@code sysconf(_SC_PAGESIZE)}. */
    long pageSize();

    /** libc through JNA, falling back to pure Java when JNA or libc cannot be loaded. */
    static NativeSystem create() {
        return new FallbackNativeSystem(LibcJna::load, new ProcfsNativeSystem());
    }
}
