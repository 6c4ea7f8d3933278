"""App Mesh resources: their kinds, names, ARNs and the semantic rules the model cannot state."""
