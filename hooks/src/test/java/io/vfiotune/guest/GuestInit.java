package io.vfiotune.guest;

import java.nio.charset.StandardCharsets;

/**
 * PID 1 of the booted guest: a busybox sh script that prints what the guest's
 * kernel made of the PCI topology and powers the guest off. The report sits
 * between two marker lines so kernel messages on the same console do not matter;
 * every report line is one record, its fields separated by single spaces
 * (sysfs paths and values have none), parsed by {@link GuestReport}.
 *
 * <pre>
 * kernel ppc64le 6.1.0-50-powerpc64le
 * uptime 6.52
 * nodes online=0-8 possible=0-8
 * bus 0001:00 bridge=/sys/devices/pci0001:00 of_node=/sys/firmware/devicetree/base/pci@800000020000001
 * pci 0001:00:01.0 vendor=0x1af4 device=0x1005 class=0x00ff00 numa_node=0 path=/sys/devices/pci0001:00/0001:00:01.0 of_node=...
 * res 0001:00:01.0 2 0x000000e000000000 0x000000efffffffff 0x000000000014220c
 * firmware efi
 * klog [    0.412345] pci 0000:fe:00.0: BAR 2: no space for [mem size 0x1000000000 64bit pref]
 * </pre>
 * {@code res}: a line of the function's sysfs {@code resource} file that is not all
 * zero (index, start, end, flags; index 0-5 are the BARs). {@code firmware}: {@code efi}
 * when the kernel was started by UEFI firmware. {@code klog}: kernel messages about
 * PCI resources that could not be assigned, and the root buses' windows.
 * {@code of_node=-} where the platform has no device tree (x86).
 */
final class GuestInit {
    static final String BEGIN = "@@vfio-tune-guest BEGIN";
    static final String END = "@@vfio-tune-guest END";

    private GuestInit() {
    }

    static byte[] script() {
        return """
                #!/bin/busybox sh
                # The guest has no root filesystem: everything runs from this initramfs.
                /bin/busybox mount -t proc proc /proc
                /bin/busybox mount -t sysfs sysfs /sys
                /bin/busybox mount -t devtmpfs devtmpfs /dev
                # --install finds busybox through /proc/self/exe, so after mounting proc.
                /bin/busybox --install -s /bin
                export PATH=/bin

                # "-" for a file the kernel does not have (no NUMA, no device tree).
                value() { if [ -r "$1" ]; then cat "$1"; else echo -; fi; }
                link() { if [ -e "$1" ]; then realpath "$1"; else echo -; fi; }

                echo
                echo "%s"
                echo "kernel $(uname -m) $(uname -r)"
                # Seconds since the kernel started: the rest of a boot's wall time is QEMU and firmware.
                echo "uptime $(cut -d' ' -f1 /proc/uptime)"
                echo "nodes online=$(value /sys/devices/system/node/online) possible=$(value /sys/devices/system/node/possible)"
                for bus in /sys/class/pci_bus/*; do
                    [ -e "$bus" ] || continue
                    # A root bus's device is its host bridge (pciDDDD:BB); a secondary bus's is the bridge above it.
                    of=$(link "$bus/of_node")
                    [ "$of" = - ] && of=$(link "$bus/device/of_node")
                    echo "bus ${bus##*/} bridge=$(link "$bus/device") of_node=$of"
                done
                for device in /sys/bus/pci/devices/*; do
                    [ -e "$device" ] || continue
                    echo "pci ${device##*/} vendor=$(value "$device/vendor") device=$(value "$device/device") class=$(value "$device/class") numa_node=$(value "$device/numa_node") path=$(link "$device") of_node=$(link "$device/of_node")"
                    index=0
                    while read start end flags; do
                        case "$start $end $flags" in
                            "0x0000000000000000 0x0000000000000000 0x0000000000000000") ;;
                            *) echo "res ${device##*/} $index $start $end $flags" ;;
                        esac
                        index=$((index + 1))
                    done < "$device/resource"
                done
                if [ -d /sys/firmware/efi ]; then echo "firmware efi"; else echo "firmware -"; fi
                dmesg | grep -E "no space|failed to assign|can't assign|root bus resource \\[mem" | while read -r line; do echo "klog $line"; done
                echo "%s"
                poweroff -f
                # Only reached when the platform cannot power off; the domain destroys itself on reboot too.
                reboot -f
                """.formatted(BEGIN, END).getBytes(StandardCharsets.UTF_8);
    }

    /** The initramfs: the directories init needs, /dev/console, busybox and this script as /init. */
    static byte[] initramfs(byte[] busybox) {
        return initramfs(busybox, script());
    }

    /** The same with another /init (the harness's own tests use guests that fail on purpose). */
    static byte[] initramfs(byte[] busybox, byte[] init) {
        return new Initramfs()
                .directory("/bin").directory("/dev").directory("/proc").directory("/sys")
                .characterDevice("/dev/console", 0600, 5, 1)
                .file("/bin/busybox", 0755, busybox)
                .file("/init", 0755, init)
                .gzip();
    }
}
