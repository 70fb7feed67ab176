"""Benchmark: what one network message costs a node, without the network.

    .venv/bin/python bench/network_messages.py [--rounds 2000]

For an alert message as Airlock sends it: signing with one and with two active secrets (a
rotation's overlap), verifying against the receiver's secrets (the matching one last, the worst
case), and validating against the JSON Schema. In process, no database: the inbox's own cost
on top of parsing, the two INSERTs and the HTTP round trip.
"""

import argparse
import json
import sys
import time

from benchlib import ROOT, summary_ms, write_result

sys.path.insert(0, str(ROOT))


def measure(function, rounds: int) -> dict[str, float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return summary_ms(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args().rounds
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airlock.settings")
    import django

    django.setup()
    from reviews.network import schema, signing
    from tests.reviews.network_helpers import alert_message

    message = alert_message()
    body = json.dumps(message).encode()
    old, new = signing.new_secret(), signing.new_secret()
    signed_two = signing.signed_headers(secret_values=[new, old], message_id="m", body=body)
    schema.problems(message)  # compile the validator once, as a running node has
    results = {
        "body_bytes": len(body),
        "sign_one_secret": measure(
            lambda: signing.signed_headers(secret_values=[new], message_id="m", body=body), rounds
        ),
        "sign_two_secrets": measure(
            lambda: signing.signed_headers(secret_values=[new, old], message_id="m", body=body),
            rounds,
        ),
        "verify_match_last_of_two": measure(
            lambda: signing.verify(
                secret_values=[signing.new_secret(), old], body=body, headers=signed_two
            ),
            rounds,
        ),
        "validate_schema": measure(lambda: schema.problems(message), rounds),
    }
    path = write_result("network_messages", {"rounds": rounds, "results": results})
    print(json.dumps(results, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
