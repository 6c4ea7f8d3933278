"""X-Ray: segment documents, traces, filter expressions and the service graph (pure)."""
