"""The X-Ray daemon Meshway runs for the built-in `aws-xray-daemon` image (engine level, beside
`meshway.sidecar`): framing, batching, signing, the uplink to the X-Ray API, the sampling proxy,
and `install`, which puts the standard-library-only modules where the container's user can run
them."""
