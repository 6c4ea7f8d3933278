"""The built-in sidecar images: what AWS's `aws-appmesh-envoy` image does, with the real Envoy."""
