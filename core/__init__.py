"""Plumbing shared by every app (the API's errors, pagination, authentication, parsers and throttles).

``core`` imports no app of the project; every app may import it (see docs/architecture.md).
"""
