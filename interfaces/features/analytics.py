"""The analytics feature: /api/v1/analytics/* over what the other features contribute.

It owns no aggregate; the exports router is a platform router (``interfaces/api/app.py``), after
the audit export whose path it would otherwise take. API keys reach both with ``analytics:read``.
"""

from interfaces.api.routes import analytics
from interfaces.feature import Feature, Scope

FEATURE = Feature(
    name="analytics",
    routers=(analytics.router,),
    scopes=(
        Scope("/api/v1/analytics", read="analytics:read", write=None),
        Scope("/api/v1/exports", read="analytics:read", write=None),
        Scope("/api/v1/exports/audit", read=None, write=None),  # stays session-only
    ),
)
