#!/usr/bin/env python3
"""Writes domains/NN-*.xml: 60 domains, each a different combination of fragments."""
import os, random, re, uuid

HEAD = {
 'pc': "  <os>\n    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>\n    <boot dev='hd'/>\n  </os>\n",
 'q35': "  <os firmware='efi'>\n    <type arch='x86_64' machine='q35'>hvm</type>\n    <loader readonly='yes' secure='no' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>\n    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/x_VARS.fd</nvram>\n    <bootmenu enable='yes' timeout='3000'/>\n  </os>\n",
}
FRAGMENTS = {
 'title': "  <title>GPU &amp; NIC guest &lt;prod&gt; &#x41;&#66;</title>\n  <description><![CDATA[owner: <ops@example.org> & friends]]></description>\n",
 'foreign': "  <metadata>\n    <app:config xmlns:app=\"http://example.org/app/1\" app:rev='7'>\n      <app:owner>ops</app:owner>\n      <!-- kept by the management stack -->\n    </app:config>\n  </metadata>\n",
 'numa': "  <cpu mode='host-passthrough' check='none' migratable='on'>\n    <topology sockets='2' dies='1' cores='2' threads='1'/>\n    <numa>\n      <cell id='0' cpus='0-1' memory='1048576' unit='KiB' memAccess='shared'>\n        <distances>\n          <sibling id='0' value='10'/>\n          <sibling id='1' value='21'/>\n        </distances>\n      </cell>\n      <cell id='1' cpus='2-3' memory='1048576' unit='KiB'>\n        <distances>\n          <sibling id='0' value='21'/>\n          <sibling id='1' value='10'/>\n        </distances>\n      </cell>\n    </numa>\n  </cpu>\n  <numatune>\n    <memory mode='strict' nodeset='0-1'/>\n    <memnode cellid='0' mode='preferred' nodeset='0'/>\n  </numatune>\n",
 'cputune': "  <iothreads>2</iothreads>\n  <cputune>\n    <shares>2048</shares>\n    <vcpupin vcpu='0' cpuset='2'/>\n    <vcpupin vcpu='1' cpuset='3'/>\n    <emulatorpin cpuset='0-1'/>\n    <iothreadpin iothread='1' cpuset='0'/>\n    <vcpusched vcpus='0-1' scheduler='fifo' priority='1'/>\n  </cputune>\n",
 'features': "  <features>\n    <acpi/>\n    <apic/>\n    <hyperv mode='custom'>\n      <relaxed state='on'/>\n      <vapic state='on'/>\n      <spinlocks state='on' retries='8191'/>\n      <vendor_id state='on' value='0123456789ab'/>\n    </hyperv>\n    <kvm>\n      <hidden state='on'/>\n    </kvm>\n    <ioapic driver='kvm'/>\n  </features>\n  <clock offset='localtime'>\n    <timer name='rtc' tickpolicy='catchup'/>\n    <timer name='hpet' present='no'/>\n    <timer name='hypervclock' present='yes'/>\n  </clock>\n  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>coredump-restart</on_crash>\n  <pm>\n    <suspend-to-mem enabled='no'/>\n    <suspend-to-disk enabled='no'/>\n  </pm>\n",
}
DEVICES = {
 'disk-file': "    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2' cache='none' io='native' discard='unmap'/>\n      <source file='/var/lib/libvirt/images/guest.qcow2'/>\n      <target dev='vda' bus='virtio'/>\n      <boot order='1'/>\n    </disk>\n",
 'disk-block': "    <disk type='block' device='lun' sgio='unfiltered'>\n      <driver name='qemu' type='raw'/>\n      <source dev='/dev/disk/by-id/wwn-0x5000c500a1b2c3d4'/>\n      <target dev='sda' bus='scsi'/>\n      <serial>  WD-1234 </serial>\n      <address type='drive' controller='0' bus='0' target='0' unit='0'/>\n    </disk>\n",
 'disk-cdrom': "    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n      <source file='/srv/iso/installer.iso'/>\n      <target dev='hdc' bus='ide'/>\n      <readonly/>\n    </disk>\n",
 'disk-rbd': "    <disk type='network' device='disk'>\n      <driver name='qemu' type='raw'/>\n      <auth username='libvirt'>\n        <secret type='ceph' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/>\n      </auth>\n      <source protocol='rbd' name='pool/image'>\n        <host name='mon1.example.org' port='6789'/>\n        <host name='mon2.example.org' port='6789'/>\n      </source>\n      <target dev='vdb' bus='virtio'/>\n    </disk>\n",
 'nic-network': "    <interface type='network'>\n      <mac address='52:54:00:6b:3c:58'/>\n      <source network='default'/>\n      <model type='virtio'/>\n      <driver name='vhost' queues='4' rx_queue_size='1024'/>\n    </interface>\n",
 'nic-bridge': "    <interface type=\"bridge\">\n      <mac address=\"52:54:00:00:00:02\"/>\n      <source bridge=\"br0\"/>\n      <model type=\"e1000e\"/>\n      <link state=\"up\"/>\n      <mtu size=\"9000\"/>\n    </interface>\n",
 'nic-direct': "    <interface type='direct' trustGuestRxFilters='yes'>\n      <source dev='eno1' mode='passthrough'/>\n      <model type='virtio'/>\n      <bandwidth>\n        <inbound average='1000' peak='5000' burst='1024'/>\n      </bandwidth>\n    </interface>\n",
 'controllers': "    <controller type='usb' index='0' model='qemu-xhci' ports='15'/>\n    <controller type='scsi' index='0' model='virtio-scsi'>\n      <driver queues='4' iothread='1'/>\n    </controller>\n    <controller type='virtio-serial' index='0'/>\n",
 'chardevs': "    <serial type='pty'>\n      <target type='isa-serial' port='0'>\n        <model name='isa-serial'/>\n      </target>\n    </serial>\n    <console type='pty'>\n      <target type='serial' port='0'/>\n    </console>\n    <channel type='unix'>\n      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>\n",
 'graphics': "    <graphics type='spice' autoport='yes' passwd='s3cr&amp;t' listen='127.0.0.1'>\n      <listen type='address' address='127.0.0.1'/>\n      <image compression='off'/>\n    </graphics>\n    <video>\n      <model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='1' primary='yes'/>\n    </video>\n",
 'misc': "    <input type='tablet' bus='usb'/>\n    <sound model='ich9'/>\n    <watchdog model='i6300esb' action='reset'/>\n    <rng model='virtio'>\n      <rate bytes='1024' period='1000'/>\n      <backend model='random'>/dev/urandom</backend>\n    </rng>\n    <tpm model='tpm-crb'>\n      <backend type='emulator' version='2.0'/>\n    </tpm>\n    <memballoon model='virtio'>\n      <stats period='10'/>\n    </memballoon>\n",
}
HOSTDEV_STYLES = [
 "    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <driver name='vfio'/>\n      <source>\n        <address domain='0x0000' bus='0x{b}' slot='0x00' function='0x0'/>\n      </source>\n    </hostdev>\n",
 "    <hostdev mode=\"subsystem\" type=\"pci\" managed=\"yes\">\n      <source>\n        <address domain=\"0x0000\" bus=\"0x{b}\" slot=\"0x00\" function=\"0x0\"/>\n      </source>\n      <rom bar=\"off\"/>\n      <boot order=\"2\"/>\n    </hostdev>\n",
 "    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <source>\n        <address domain='0' bus='{d}' slot='0' function='0'/>\n      </source>\n      <alias name='ua-gpu{d}'/>\n    </hostdev>\n",
]
QEMU_NS = "  <qemu:commandline>\n    <qemu:arg value='-fw_cfg'/>\n    <qemu:arg value='name=opt/com.example/blob,string=x&amp;y'/>\n    <qemu:env name='SPICE_DEBUG_ALLOW_MC' value='1'/>\n  </qemu:commandline>\n"

def domain(i):
    bits = random.Random(i).getrandbits(12)  # a fixed seed per file: the corpus is reproducible
    rng = [(bits >> k) & 1 for k in range(12)]
    machine = 'q35' if rng[0] else 'pc'
    parts = []
    qemu = rng[1]
    root = "<domain type='kvm'" + (" xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" if qemu else "") + ">\n"
    if i % 7 == 3:
        parts.append("<!-- defined by the provisioning pipeline, run 4711 -->\n")
    parts.append(root)
    parts.append(f"  <name>corpus-{i:02d}</name>\n")
    parts.append(f"  <uuid>{uuid.uuid5(uuid.NAMESPACE_URL, 'vfio-tune-corpus-%d' % i)}</uuid>\n")
    if rng[2]: parts.append(FRAGMENTS['title'])
    if rng[3]: parts.append(FRAGMENTS['foreign'])
    parts.append("  <memory unit='KiB'>2097152</memory>\n  <currentMemory unit='KiB'>2097152</currentMemory>\n")
    if rng[4]: parts.append("  <memoryBacking>\n    <hugepages>\n      <page size='2048' unit='KiB'/>\n    </hugepages>\n    <locked/>\n  </memoryBacking>\n")
    parts.append("  <vcpu placement='static'>4</vcpu>\n")
    if rng[5]: parts.append(FRAGMENTS['cputune'])
    parts.append(HEAD[machine])
    if rng[6]: parts.append(FRAGMENTS['features'])
    if rng[7]: parts.append(FRAGMENTS['numa'])
    parts.append("  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n")
    names = list(DEVICES)
    chosen = [n for k, n in enumerate(names) if (i * 7 + k * 3) % 5 < 2 or k == i % len(names)]
    for n in chosen:
        parts.append(DEVICES[n])
        if (i + len(n)) % 9 == 0:
            parts.append("    <!-- " + n + " added for ticket OPS-" + str(100 + i) + " -->\n")
    style = HOSTDEV_STYLES[i % len(HOSTDEV_STYLES)]
    for b in ('03', '04'):
        parts.append(style.replace('{b}', b).replace('{d}', str(int(b))))
    parts.append("  </devices>\n")
    if rng[8]:
        parts.append("  <seclabel type='dynamic' model='apparmor' relabel='yes'/>\n  <seclabel type='none' model='dac'/>\n")
    if qemu: parts.append(QEMU_NS)
    parts.append("</domain>\n")
    text = "".join(parts)
    if rng[9]:
        text = re.sub(r"(?m)^((?:  )+)", lambda m: "\t" * (len(m.group(1)) // 2), text)  # tab indentation
    if i % 10 == 7:
        text = text.replace("\n", "\r\n")  # CRLF line ends
    return text

os.makedirs('domains', exist_ok=True)
for i in range(60):
    with open(f'domains/{i:02d}.xml', 'w', newline='') as out:
        out.write(domain(i))
