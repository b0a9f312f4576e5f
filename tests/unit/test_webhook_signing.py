"""Standard Webhooks signing, checked with the reference `standardwebhooks` verifier."""

import json
import time
from uuid import uuid4

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from application.webhook_signing import delivery_id, new_secret, signed_headers

BODY = json.dumps({"type": "task.created", "position": 7}).encode()


def test_the_reference_verifier_accepts_our_signature_and_returns_the_payload():
    secret = new_secret()
    assert secret.startswith("whsec_")
    headers = signed_headers([secret], "msg_1", int(time.time()), BODY)
    assert Webhook(secret).verify(BODY, headers) == {"type": "task.created", "position": 7}


def test_a_tampered_body_or_another_secret_is_rejected():
    secret = new_secret()
    headers = signed_headers([secret], "msg_2", int(time.time()), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"7", b"8"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_during_rotation_both_the_old_and_the_new_secret_verify():
    old, new = new_secret(), new_secret()
    headers = signed_headers([new, old], "msg_3", int(time.time()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, headers) and Webhook(new).verify(BODY, headers)


def test_the_delivery_id_is_the_same_for_the_same_webhook_and_event_only():
    webhook, event = uuid4(), uuid4()
    assert delivery_id(webhook, event) == delivery_id(webhook, event)
    assert delivery_id(webhook, event) != delivery_id(uuid4(), event)
    assert delivery_id(webhook, event) != delivery_id(webhook, uuid4())
