"""Analyses built on the engine: zones grises, siting, fragility, distanciers."""
