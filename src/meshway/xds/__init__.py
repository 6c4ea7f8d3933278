"""The control plane's Envoy side: mesh resources → per-proxy xDS snapshots, served over ADS.

`view` (the immutable input), `names` (every Envoy name App Mesh uses), `snapshot` (the value the
server publishes) and `translate` (pure: view + proxy → snapshot) are the translation half; the ADS
server and the feed → rebuild → cache loop live beside them.
"""
