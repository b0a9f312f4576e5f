"""Ledgerflow's domain: aggregates, their events and invariants. Pure: no I/O, no framework."""
