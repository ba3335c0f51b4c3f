"""The lab's harness: loopback services, fault controls, the per-hop trace, signing keys, wire errors, topology."""
