"""Meshway: App Mesh, ECS, X-Ray and Cloud Map on your own machine, with the real Envoy."""

__version__ = "0.1.0"
