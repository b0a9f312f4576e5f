"""Choosing the chat's intent provider from ``LEDGERFLOW_CHAT_PROVIDER``.

``none`` (the default) keeps the deterministic parser alone. Any other value is
``package.module:factory``: a callable that takes the Settings and returns an object with
``interpret(message, today) -> Intent | None`` (``application.chat.ChatProvider``); an LLM client
lives behind it. Ledgerflow ships no such client, so nothing reaches the network unless you add one.
"""

from __future__ import annotations

import importlib

from application.chat import ChatProvider, NoProvider
from interfaces.settings import Settings


class UnknownChatProvider(ValueError):
    """LEDGERFLOW_CHAT_PROVIDER names nothing that can be imported."""


def chat_provider(settings: Settings) -> ChatProvider:
    """The provider the settings name."""
    spec = settings.chat_provider.strip()
    if spec.lower() in ("", "none"):
        return NoProvider()
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise UnknownChatProvider(f"LEDGERFLOW_CHAT_PROVIDER={spec!r}: use none or module:factory")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise UnknownChatProvider(f"LEDGERFLOW_CHAT_PROVIDER={spec!r}: {error}") from None
    provider: ChatProvider = factory(settings)
    return provider
