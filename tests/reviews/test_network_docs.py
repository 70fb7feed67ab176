"""docs/NETWORK.md's examples are what the code does: each JSON message is valid against the
schema, the worked signature is the one we compute and verify, and the document's standalone
verification recipe accepts it."""

import json
import re
from pathlib import Path

from reviews.network import schema, signing

DOC = (Path(__file__).resolve().parents[2] / "docs" / "NETWORK.md").read_text()


def blocks(info: str) -> list[str]:
    return re.findall(rf"```{re.escape(info)}\n(.*?)```", DOC, flags=re.S)


def worked(name: str) -> str:
    return re.search(rf"- {name}: `([^`]+)`", DOC).group(1)


def test_every_example_message_is_valid_against_the_schema():
    examples = blocks("json example-message")

    assert len(examples) >= 3
    for example in examples + blocks("json example-body"):
        assert schema.problems(json.loads(example)) == [], example[:80]


def test_the_worked_signature_is_what_we_sign_and_verify():
    (body,) = blocks("json example-body")
    body = body.strip().encode()
    secret, message_id = worked("secret"), worked("`webhook-id`")
    timestamp = int(worked("`webhook-timestamp`").split()[0])
    expected = worked("`webhook-signature`")

    assert (
        signing.signature(
            secret_values=[secret], message_id=message_id, timestamp=timestamp, body=body
        )
        == expected
    )


def test_the_document_s_own_recipe_verifies_the_example():
    (recipe,) = blocks("python verify-example")
    (body,) = blocks("json example-body")
    namespace: dict = {}
    exec(recipe, namespace)  # the document's example code, run as written
    headers = {
        "webhook-id": worked("`webhook-id`"),
        "webhook-timestamp": worked("`webhook-timestamp`").split()[0],
        "webhook-signature": worked("`webhook-signature`"),
    }
    body = body.strip().encode()
    now = int(headers["webhook-timestamp"]) + 60

    assert namespace["verify"]([worked("secret")], headers, body, now=now)
    assert not namespace["verify"]([signing.new_secret()], headers, body, now=now)
    assert not namespace["verify"]([worked("secret")], headers, body + b" ", now=now)
    assert not namespace["verify"]([worked("secret")], headers, body, now=now + 600)


def test_the_demo_nodes_keep_apart_everything_but_the_network(tmp_path):
    from reviews.management.commands.network_demo import node_env

    a, b = node_env("A", tmp_path), node_env("B", tmp_path)

    for key in ("DATABASE_URL", "CELERY_FILESYSTEM_DIR", "PRIVATE_STORAGE_ROOT", "SITE_URL"):
        assert a[key] != b[key], key
    assert a["PARTNER_WEBHOOK_ALLOWED_NETWORKS"] == "127.0.0.1/32"
    assert "REDIS_URL" not in a
