/**
 * What more than one feature needs about the guest's layout: which hostdevs are passthrough
 * functions and how they resolve on the host ({@link io.vfiotune.xml.transforms.layout.PassthroughDevices}),
 * the machine's kind ({@link io.vfiotune.xml.transforms.layout.GuestMachines}), and how firmware
 * packs bridge windows ({@link io.vfiotune.xml.transforms.layout.BridgeWindow}). It uses no
 * feature package; a helper that one feature alone needs stays in that feature.
 */
package io.vfiotune.xml.transforms.layout;
