"""The web console at `/` and `/metrics`: what runs, as a person wants to see it.

Neighbours: `app.py` (the routes, security headers), `views.py` (App Mesh resources and ECS tasks
read from the store), `xray.py` (the service map and trace waterfall from the X-Ray service),
`metrics.py` and `envoy_stats.py` (Prometheus text), `static/` (the page, plain JS and SVG).
Everything here reads; nothing here writes to the store.
"""

from meshway.console.app import Console
from meshway.console.metrics import Metrics

__all__ = ["Console", "Metrics"]
