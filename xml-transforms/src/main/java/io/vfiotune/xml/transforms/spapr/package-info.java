/**
 * Extra sPAPR PHBs for pseries guests, one host IOMMU group per vPHB. Uses the SPI, the PCI
 * model, the platform rules and {@code layout}; no other feature.
 */
package io.vfiotune.xml.transforms.spapr;
