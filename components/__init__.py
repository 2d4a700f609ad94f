"""layerguard's layers: network, edge (perimeter), node fleet and internal app."""
