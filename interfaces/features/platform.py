"""API-key scopes of the platform routes and of the resources the next features add.

An API key can use only the routes a scope guards. The events feed is guarded here; the scopes
of flows (runs, schedules, triggers), approvals, agents, chat and analytics are declared now so
that keys can be given them (flow8's programmatic access, shared/CONTRACT.md 2.2); each moves
into its feature's own module when that feature is built. Aliases need no entry: they run the
canonical route, and so its scope.
"""

from interfaces.feature import Feature, Scope

FLOWS = ("flows:read", "flows:write")
FEATURE = Feature(
    name="platform",
    scopes=(
        Scope("/api/v1/events", read="events:read", write=None),
        *(Scope(f"/api/v1/{name}", *FLOWS) for name in ("flows", "runs")),
        Scope("/api/v1/processes", *FLOWS),  # Behflow's view of flows
        Scope("/api/v1/agents", read="agents:read", write="agents:write"),
        Scope("/api/v1/chat", read="chat:read", write="chat:write"),
        Scope("/api/v1/analytics", read="analytics:read", write=None),
        Scope("/api/v1/tasks/stats", read="analytics:read", write=None),
    ),
)
