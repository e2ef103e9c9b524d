"""Inputs: OSM roads, communes, BPE and gammes, point services, data directories."""
