"""The features of Ledgerflow: adding one is its own modules plus one line here."""

from interfaces.feature import Feature
from interfaces.features import (
    accounts,
    agent_messages,
    agents,
    analytics,
    api_keys,
    approvals,
    chat,
    flows,
    operations,
    platform,
    sessions,
    tasks,
    triggers,
    webhooks,
)

FEATURES: tuple[Feature, ...] = (
    accounts.FEATURE,
    sessions.FEATURE,
    api_keys.FEATURE,
    tasks.FEATURE,
    webhooks.FEATURE,
    operations.FEATURE,
    flows.FEATURE,
    platform.FEATURE,
    chat.FEATURE,
    analytics.FEATURE,
    agent_messages.FEATURE,
    agents.FEATURE,
    approvals.FEATURE,
    triggers.FEATURE,
)
