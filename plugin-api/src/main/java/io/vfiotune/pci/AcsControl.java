package io.vfiotune.pci;

/**
 * The ACS control bits that decide whether peer-to-peer traffic below a switch
 * is redirected up to the root complex.
 */
public record AcsControl(boolean sourceValidation, boolean requestRedirect, boolean completionRedirect,
                         boolean upstreamForwarding, boolean egressControl, boolean directTranslatedP2p) {
    public static AcsControl fromRegister(int control) {
        return new AcsControl((control & 0x01) != 0, (control & 0x04) != 0, (control & 0x08) != 0,
                (control & 0x10) != 0, (control & 0x20) != 0, (control & 0x40) != 0);
    }

    /**
     * Peer-to-peer requests or completions are forced through the root complex,
     * or may be blocked on their way: Linux's {@code pci_bridge_has_acs_redir()}
     * (drivers/pci/p2pdma.c) flags a function when any of request redirect, completion
     * redirect or egress control is on. Direct Translated P2P is not a way
     * around it here: it lets only ATS-translated requests through, and nothing
     * on the host says whether a GPU's requests will be translated.
     */
    public boolean redirectsPeerToPeer() {
        return requestRedirect || completionRedirect || egressControl;
    }
}
