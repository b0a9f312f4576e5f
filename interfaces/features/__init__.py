"""The features of Ledgerflow: adding one is its own modules plus one line here."""

from interfaces.feature import Feature
from interfaces.features import accounts, agents, api_keys, operations, sessions, tasks, webhooks

FEATURES: tuple[Feature, ...] = (
    accounts.FEATURE,
    sessions.FEATURE,
    api_keys.FEATURE,
    tasks.FEATURE,
    webhooks.FEATURE,
    operations.FEATURE,
    agents.FEATURE,
)
