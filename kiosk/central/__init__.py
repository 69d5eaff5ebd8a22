"""The station <-> central registry path: keys, sealed packets, print permits, the local central."""
