"""The road network: graph arrays and their I/O, the spatial index, interop (no routing here)."""
