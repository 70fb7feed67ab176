"""Airlock as a node of the regulators' network (docs/NETWORK.md).

- `models`: partners' signing secrets and their audit trail, the webhook ids already seen,
  and receipts (those partners send us about our alerts, and those we send about theirs);
- `signing`: Standard Webhooks signatures, with several secrets per partner for rotation;
- `keys`: issuing, adding and retiring secrets (the admin calls these);
- `schema`: the versioned message schema and the IMDRF device problem codes;
- `alerts`: the alert document we send (new versions, retractions) and what we do with one
  a partner sends;
- `receipts`: receipts both ways, and the alerts a partner has not acknowledged;
- `delivery`: one signed POST to a partner's inbox;
- `inbox`: the endpoint partners post messages to;
- `directory`: the public register of devices in the sandbox.
"""
