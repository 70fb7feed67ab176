#!/usr/bin/env python3
"""Check an Airlock case bundle offline, with nothing but Python 3's standard library.

    python3 verify_bundle.py AIA-2026-0042-bundle.zip --public-key <64 hex characters>

The public key is published by the Airlock service at /bundles/public-key/; take it from there
(or from the regulator), not from the bundle itself, which anyone could have re-signed. Checks
that manifest.sig is a valid Ed25519 signature (RFC 8032) of manifest.json by that key, and
that every file in the bundle is listed in the manifest with its SHA-256 and size, and nothing
listed is missing. Exits 0 and prints "Bundle verified" when all holds, 1 with the first
problem otherwise.
"""

import argparse
import hashlib
import json
import sys
import zipfile

# --- Ed25519 verification, after the reference code in RFC 8032, section 6 ------------------

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    e1 = (a[1] - a[0]) * (b[1] - b[0]) % P
    e2 = (a[1] + a[0]) * (b[1] + b[0]) % P
    e3 = 2 * a[3] * b[3] * D % P
    e4 = 2 * a[2] * b[2] % P
    e, f, g, h = e2 - e1, e4 - e3, e4 + e3, e2 + e1
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(scalar, point):
    result = (0, 1, 1, 0)
    while scalar > 0:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _decompress(data):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
BASE = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decompress(public_key)
    r = _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little")
    return _equal(_mul(s, BASE), _add(r, _mul(h % Q, a)))


# --- The bundle -------------------------------------------------------------------------------

MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"


def verify_bundle(path: str, public_key_hex: str) -> list[str]:
    """The problems found, the first one first; an empty list when the bundle holds."""
    try:
        public_key = bytes.fromhex(public_key_hex.strip())
    except ValueError:
        return ["The public key is not hexadecimal."]
    try:
        bundle = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        return [f"Not a readable zip file: {error}"]
    with bundle:
        names = set(bundle.namelist())
        if MANIFEST not in names or SIGNATURE not in names:
            return ["The bundle has no manifest.json or no manifest.sig."]
        manifest_bytes = bundle.read(MANIFEST)
        try:
            signature = bytes.fromhex(bundle.read(SIGNATURE).decode().strip())
        except (UnicodeDecodeError, ValueError):
            return ["manifest.sig is not a hexadecimal signature."]
        if not ed25519_verify(public_key, manifest_bytes, signature):
            return ["The manifest's signature does not match this public key."]
        manifest = json.loads(manifest_bytes)
        listed = {entry["path"]: entry for entry in manifest["files"]}
        problems = []
        for name in sorted(names - {MANIFEST, SIGNATURE}):
            if name.endswith("/"):
                continue
            entry = listed.get(name)
            if entry is None:
                problems.append(f"{name} is in the bundle but not in the manifest.")
                continue
            content = bundle.read(name)
            if (
                len(content) != entry["size"]
                or hashlib.sha256(content).hexdigest() != entry["sha256"]
            ):
                problems.append(f"{name} does not match its SHA-256 in the manifest.")
        problems += [
            f"{name} is listed in the manifest but missing." for name in listed.keys() - names
        ]
        return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle")
    parser.add_argument("--public-key", required=True, help="Airlock's key, 64 hex characters")
    args = parser.parse_args(argv)
    problems = verify_bundle(args.bundle, args.public_key)
    if problems:
        for problem in problems:
            print(f"FAILED: {problem}")
        return 1
    print("Bundle verified: signed by this key, every file as listed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
