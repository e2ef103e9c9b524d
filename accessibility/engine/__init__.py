"""The access engine: places on the graph, the study, nearest-equipment times."""
