"""Organisation policies: loading (policy.model), evaluation (policy.engine)."""
