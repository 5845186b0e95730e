#!/usr/bin/env python3
"""Independent verifier for OneTrip ES256 access tokens, built on joserfc.

Usage: verify_joserfc.py TOKEN_FILE JWKS_FILE

  TOKEN_FILE  the compact JWT (surrounding whitespace is ignored)
  JWKS_FILE   the JWK Set document ({"keys": [...]}) exactly as served at
              /.well-known/jwks.json

Exit 0 and print the claims as JSON on stdout when the token verifies with
ES256 against the key named by its header "kid", its header "typ" is "JWT",
and its claims pass: iss == "https://onetrip.hangzhou.gov.cn", aud contains
"onetrip-app", exp present and not past, token_use == "access".
Otherwise print "joserfc: rejected: <reason>" on stderr and exit 1.
"""

from __future__ import annotations

import json
import sys

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

EXPECTED_ISS = "https://onetrip.hangzhou.gov.cn"
EXPECTED_AUD = "onetrip-app"
EXPECTED_TOKEN_USE = "access"
ALGORITHMS = ["ES256"]


class Rejected(Exception):
    pass


def verify(token: str, jwks: dict) -> dict:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise Rejected('JWKS is not a {"keys": [...]} document')
    key_set = KeySet.import_key_set(jwks)

    # Look at the (not yet trusted) protected header first so that a token
    # without a kid, or with a kid that is not published, is refused outright
    # instead of falling back to "the only key in the set".
    header = jws.extract_compact(token.encode("ascii")).headers()
    if header.get("typ") != "JWT":
        raise Rejected(f"header typ is {header.get('typ')!r}, want 'JWT'")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Rejected("header has no kid")
    published = {key.kid for key in key_set.keys}
    if kid not in published:
        raise Rejected(f"kid {kid!r} is not in the JWKS")

    # Signature check: joserfc refuses any alg outside ALGORITHMS (e.g.
    # "none", HS256) and picks the key by kid (and alg) from the set.
    decoded = jwt.decode(token, key_set, algorithms=ALGORITHMS)
    if decoded.header.get("kid") != kid or decoded.header.get("typ") != "JWT":
        raise Rejected("verified header differs from the inspected one")

    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": EXPECTED_ISS},
        aud={"essential": True, "value": EXPECTED_AUD},
        exp={"essential": True},
        token_use={"essential": True, "value": EXPECTED_TOKEN_USE},
    )
    registry.validate(decoded.claims)
    return decoded.claims


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(f"usage: {argv[0]} TOKEN_FILE JWKS_FILE", file=sys.stderr)
        return 2
    try:
        with open(argv[1], "r", encoding="ascii") as fh:
            token = fh.read().strip()
        if not token:
            raise Rejected("empty token")
        with open(argv[2], "r", encoding="utf-8") as fh:
            jwks = json.load(fh)
        claims = verify(token, jwks)
    except Rejected as exc:
        print(f"joserfc: rejected: {exc}", file=sys.stderr)
        return 1
    except JoseError as exc:
        reason = f"{type(exc).__name__}: {exc.error or 'error'}"
        if exc.description:
            reason += f" ({exc.description})"
        print(f"joserfc: rejected: {reason}", file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError, TypeError, UnicodeError) as exc:
        print(f"joserfc: rejected: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(claims, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
