"""The webhooks feature: endpoints, their durable deliveries (fan-out) and the SSRF guard."""

from application.ledger import Ledger
from application.webhooks import WebhookCommands
from domain.webhook import Webhook
from interfaces.adapters.webhook_guard import check_url
from interfaces.api.routes import webhook_deliveries, webhooks
from interfaces.feature import Feature, ReadModel, Scope, Wiring
from interfaces.metrics import Sampled, count_by
from projections.readers import ReaderRule
from projections.webhook import WebhookProjection, WebhookQueries
from projections.webhook_delivery import WebhookDeliveries, WebhookDeliveryProjection


def guarded(ledger: Ledger, wiring: Wiring) -> list[WebhookCommands]:
    """Webhook commands that refuse URLs the SSRF guard refuses."""
    allowed = list(wiring.settings.webhook_allowed_hosts)
    return [WebhookCommands(ledger, lambda url: check_url(url, allowed))]


FEATURE = Feature(
    name="webhooks",
    read_models=(
        ReadModel(lambda rules: WebhookProjection(), WebhookQueries),
        ReadModel(WebhookDeliveryProjection, WebhookDeliveries),
    ),
    routers=(webhook_deliveries.router, webhooks.router),
    scopes=(Scope("/api/v1/webhooks", read="webhooks:read", write="webhooks:write"),),
    readers=(ReaderRule(Webhook, lambda created: created.owner_id),),
    wire=guarded,
    metrics=(
        Sampled(
            "ledgerflow_webhook_deliveries",
            "Webhook deliveries by status",
            ("status",),
            count_by("webhook_deliveries", "status"),
        ),
    ),
)
