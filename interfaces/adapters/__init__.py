"""Adapters to the world outside: the event store, the buses, the relay, the chain sealer, the
webhook dispatcher with its outbox and SSRF guard, export/import and the embedded PostgreSQL."""
