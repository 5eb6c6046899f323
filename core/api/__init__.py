"""The API plumbing every app shares: one error shape, one pagination, one token check, throttles."""
