"""What the webhook endpoints' write side costs next to a task's, measured in the same run.

    python -m bench.webhook_api [--runs 3] [--commands 2000]

In-memory ledger (no database: this isolates the command's own work): ``create_webhook``
(domain checks, a fresh ``whsec_`` secret sealed with Fernet, the SSRF guard on an allowed
127.0.0.1) against ``create_task``; and the SSRF guard alone on an IP literal and on a host name
resolved by the system resolver (``localhost``). Medians of ``--runs`` runs and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from uuid import uuid4

from argon2 import PasswordHasher

from application.context import CommandContext
from application.credential import CredentialVault
from application.ledger import Ledger
from application.task import TaskCommands
from application.webhooks import WebhookCommands
from interfaces.adapters.webhook_guard import check_url

ALLOWED = ["127.0.0.1"]
HOOK = "http://127.0.0.1:9/hook"
NAMED = "http://localhost:9/hook"


def rate(call: Callable[[], object], count: int) -> float:
    """Calls per second of ``call`` over ``count`` calls."""
    started = time.perf_counter()
    for _ in range(count):
        call()
    return count / (time.perf_counter() - started)


def one_run(commands: int) -> dict[str, float]:
    """One measurement of each figure, on a fresh ledger."""
    vault = CredentialVault("b" * 40, hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    ledger = Ledger(credentials=vault)
    ledger.register(WebhookCommands(ledger, lambda url: check_url(url, ALLOWED)))
    owner = uuid4()
    ctx = CommandContext.for_user(owner)
    try:
        return {
            "create_task": rate(
                lambda: ledger[TaskCommands].create_task(ctx, owner, "t"), commands
            ),
            "create_webhook": rate(
                lambda: ledger[WebhookCommands].create_webhook(ctx, owner, HOOK, ["task.*"]),
                commands,
            ),
            "guard_ip_literal": rate(lambda: check_url(HOOK, ALLOWED), commands * 10),
            "guard_resolved_name": rate(lambda: check_url(NAMED, ALLOWED), commands),
        }
    finally:
        ledger.close()


def main() -> None:
    """Print the medians and the ratio of creating a webhook to creating a task."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commands", type=int, default=2000)
    args = parser.parse_args()
    runs = [one_run(args.commands) for _ in range(args.runs)]
    medians = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    for name, value in medians.items():
        print(f"{name:>20}: {value:10,.0f}/s  (runs: {[round(r[name]) for r in runs]})")
    print(f"create_webhook / create_task: {medians['create_webhook'] / medians['create_task']:.2f}")


if __name__ == "__main__":
    main()
