#!/usr/bin/env python3
"""Independent verifier for OneTrip SD-JWT license presentations (RFC 9901), on joserfc and hashlib only.

Usage: verify_sdjwt.py PRESENTATION_FILE ISSUER_JWK_FILE AUDIENCE NONCE

Checks, without any OneTrip code: the issuer JWS (ES256, typ dc+sd-jwt) against the issuer's public JWK; every
disclosure's SHA-256 digest is listed once in the signed `_sd`; the KB-JWT (typ kb+jwt) verifies with the `cnf.jwk`
key, names AUDIENCE and NONCE, and its sd_hash covers the presentation through the last `~`.
Exit 0 and print the disclosed claims as JSON; otherwise print "sdjwt: rejected: <reason>" and exit 1.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey


class Rejected(Exception):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify(presentation: str, issuer_jwk: dict, audience: str, nonce: str) -> dict:
    parts = presentation.split("~")
    issuer_jwt, disclosures, kb_jwt = parts[0], parts[1:-1], parts[-1]
    signed = jws.deserialize_compact(issuer_jwt, ECKey.import_key(issuer_jwk), algorithms=["ES256"])
    if signed.headers().get("typ") != "dc+sd-jwt":
        raise Rejected("issuer JWT typ is not dc+sd-jwt")
    payload = json.loads(signed.payload)
    if payload.get("_sd_alg", "sha-256") != "sha-256":
        raise Rejected("unsupported _sd_alg")
    digests = payload.get("_sd", [])
    if len(digests) != len(set(digests)):
        raise Rejected("duplicate digest")
    disclosed = {}
    for disclosure in disclosures:
        digest = b64url(hashlib.sha256(disclosure.encode("ascii")).digest())
        if digest not in digests:
            raise Rejected("a disclosure is not referenced by the issuer")
        salt, name, value = json.loads(unb64url(disclosure))
        if name in disclosed or name in payload or name in ("_sd", "..."):
            raise Rejected(f"disclosure name {name!r} is reserved or repeated")
        disclosed[name] = value
    holder = ECKey.import_key(payload["cnf"]["jwk"])
    binding = jws.deserialize_compact(kb_jwt, holder, algorithms=["ES256"])
    if binding.headers().get("typ") != "kb+jwt":
        raise Rejected("KB-JWT typ is not kb+jwt")
    claims = json.loads(binding.payload)
    if claims.get("aud") != audience or claims.get("nonce") != nonce:
        raise Rejected("KB-JWT aud or nonce differs")
    through_last_tilde = presentation[: presentation.rindex("~") + 1]
    if claims.get("sd_hash") != b64url(hashlib.sha256(through_last_tilde.encode("ascii")).digest()):
        raise Rejected("sd_hash does not cover the presentation")
    return disclosed


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(f"usage: {argv[0]} PRESENTATION_FILE ISSUER_JWK_FILE AUDIENCE NONCE", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="ascii") as fh:
            presentation = fh.read().strip()
        with open(argv[2], encoding="utf-8") as fh:
            issuer_jwk = json.load(fh)
        disclosed = verify(presentation, issuer_jwk, argv[3], argv[4])
    except Rejected as exc:
        print(f"sdjwt: rejected: {exc}", file=sys.stderr)
        return 1
    except (JoseError, OSError, ValueError, KeyError, TypeError, UnicodeError) as exc:
        print(f"sdjwt: rejected: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(disclosed, sort_keys=True, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
