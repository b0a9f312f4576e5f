"""Ledgerflow's use cases: the event-sourced application, its command handlers and auth logic."""
