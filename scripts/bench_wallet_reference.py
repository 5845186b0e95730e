#!/usr/bin/env python3
"""The wallet benchmark's baseline: the Python SD-JWT reference implementation (the `sd-jwt` package,
openwallet-foundation-labs/sd-jwt-python, on jwcrypto) doing the work `appcli bench --phases wallet` does, on one
thread, so `scripts/bench-wallet` can compare the two on the same machine.

The same license as the Swift side: a 营业执照 whose 11 fields are disclosable, `cnf.jwk` a holder P-256 key, a status
entry in a 1,000,000-entry list with 1% revoked. Measured: issue rate; verify rate of presentations with 3 disclosures
and a KB-JWT; each verification's latency. The reference verifier checks the issuer and KB-JWT signatures, the
disclosure digests, `aud`, `nonce` and `sd_hash`; this script adds, around it, what OneTrip's verifier also does so the
work is the same: `alg`/`typ`/`kid`/`iss` of the issuer JWT, `exp`/`nbf`, the KB-JWT's age, the nonce consumed once and
the status entry read from the status list a kiosk holds (decoded once, like the Swift side).

Usage: scripts/bench_wallet_reference.py [--duration SECONDS]   (run with .venv/bin/python)
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import platform
import random
import secrets
import sys
import time
import zlib
from importlib.metadata import version

from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

ISSUER = "https://onetrip.hangzhou.gov.cn/issuers/hz-market-supervision"
KEY_ID = "hz-market-supervision-2026-1"
STATUS_URI = "https://onetrip.hangzhou.gov.cn/v1/status-lists/hz-market-supervision-1"
AUDIENCE = "kiosk-xihu-01"
LIST_SIZE = 1_000_000
DISCLOSED = ("name", "credit_code", "legal_representative")
MAX_PRESENTATION_AGE = 600
CLOCK_SKEW = 60
FIELDS = {
    "credit_code": "91330106MA2H7K3Q0L",
    "name": "杭州云栖数智科技有限公司",
    "entity_type": "有限责任公司（自然人投资或控股）",
    "legal_representative": "王建国",
    "registered_capital": "1000万元人民币",
    "established_on": "2020-03-18",
    "business_term": "2020-03-18至长期",
    "address": "浙江省杭州市西湖区转塘街道云栖小镇云栖路89号3幢5层501室",
    "business_scope": "一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；信息系统集成服务；数据处理服务；"
    "人工智能应用软件开发（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）。",
    "registration_authority": "杭州市西湖区市场监督管理局",
    "approved_on": "2024-09-12",
}


class Rejected(Exception):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(issuer_key: JWK, holder_key: JWK, index: int, now: int) -> str:
    claims = {
        "iss": ISSUER,
        "vct": "urn:onetrip:license:business_license",
        "iat": now - 86_400,
        "exp": now + 5 * 365 * 86_400,
        "status": {"status_list": {"idx": index, "uri": STATUS_URI}},
    }
    claims.update({SDObj(name): value for name, value in FIELDS.items()})
    issuer = SDJWTIssuer(claims, issuer_key, holder_key, sign_alg="ES256", extra_header_parameters={"typ": "dc+sd-jwt", "kid": KEY_ID})
    return issuer.sd_jwt_issuance


def present(license: str, holder_key: JWK, nonce: str) -> str:
    holder = SDJWTHolder(license)
    holder.create_presentation({name: True for name in DISCLOSED}, nonce, AUDIENCE, holder_key, "ES256")
    return holder.sd_jwt_presentation


class StatusList:
    """2-bit entries, least significant first (Token Status List), as `lst` = base64url(zlib(bytes))."""

    def __init__(self, count: int):
        self.bytes = bytearray(count * 2 // 8)

    def set(self, index: int, value: int) -> None:
        bit = index * 2
        self.bytes[bit // 8] = (self.bytes[bit // 8] & ~(3 << (bit % 8))) | (value << (bit % 8))

    @staticmethod
    def entry(data: bytes, index: int) -> int | None:
        bit = index * 2
        if index < 0 or bit // 8 >= len(data):
            return None
        return (data[bit // 8] >> (bit % 8)) & 3


def signed_status_token(status: StatusList, issuer_key: JWK, now: int) -> str:
    payload = {
        "iss": ISSUER,
        "sub": STATUS_URI,
        "iat": now - 60,
        "ttl": 3_600,
        "status_list": {"bits": 2, "lst": b64url(zlib.compress(bytes(status.bytes), 9))},
    }
    token = JWS(payload=json.dumps(payload))
    token.add_signature(issuer_key, alg="ES256", protected=json.dumps({"alg": "ES256", "typ": "statuslist+jwt", "kid": KEY_ID}))
    return token.serialize(compact=True)


def held_status(token: str, issuer_key: JWK) -> dict[str, bytes]:
    """What a kiosk keeps after downloading a status list token: the inflated list by URI."""
    jws = JWS()
    jws.deserialize(token)
    header = jws.jose_header
    if header.get("alg") != "ES256" or header.get("typ") != "statuslist+jwt" or header.get("kid") != KEY_ID:
        raise Rejected("status token header")
    jws.verify(issuer_key, alg="ES256")
    payload = json.loads(jws.payload)
    if payload["iss"] != ISSUER:
        raise Rejected("status token issuer")
    return {payload["sub"]: zlib.decompress(b64url_decode(payload["status_list"]["lst"]), bufsize=LIST_SIZE // 4)}


class Kiosk:
    """A verifier holding the issuer key, the status lists and the nonces it handed out."""

    def __init__(self, issuer_key: JWK, lists: dict[str, bytes]):
        self.public = JWK.from_json(issuer_key.export_public())
        self.lists = lists
        self.outstanding: set[str] = set()

    def issuer_key(self, iss: str, header: dict) -> JWK:
        if header.get("alg") != "ES256":
            raise Rejected("unsupported_algorithm")
        if header.get("typ") not in ("dc+sd-jwt", "vc+sd-jwt"):
            raise Rejected("wrong_type")
        if header.get("kid") != KEY_ID:
            raise Rejected("unknown_issuer_key")
        if iss != ISSUER:
            raise Rejected("issuer_mismatch")
        return self.public

    def verify(self, presentation: str, nonce: str, now: int) -> dict:
        if len(presentation) > 64 * 1024:
            raise Rejected("presentation_malformed")
        if nonce not in self.outstanding:
            raise Rejected("key_binding_nonce")
        verifier = SDJWTVerifier(presentation, self.issuer_key, AUDIENCE, nonce)
        claims = verifier.get_verified_payload()
        self.outstanding.discard(nonce)
        if "exp" in claims and now > claims["exp"] + CLOCK_SKEW:
            raise Rejected("license_expired")
        if "nbf" in claims and claims["nbf"] > now + CLOCK_SKEW:
            raise Rejected("license_not_yet_valid")
        binding = json.loads(b64url_decode(presentation.rsplit("~", 1)[1].split(".")[1]))
        if not (now - MAX_PRESENTATION_AGE - CLOCK_SKEW <= binding["iat"] <= now + CLOCK_SKEW):
            raise Rejected("key_binding_stale")
        entry = claims.get("status", {}).get("status_list")
        if entry is not None:
            data = self.lists.get(entry.get("uri"))
            status = None if data is None else StatusList.entry(data, entry.get("idx", -1))
            if status == 1:
                raise Rejected("license_revoked")
            if status == 2:
                raise Rejected("license_suspended")
            if status != 0:
                raise Rejected("license_status_unknown")
        return claims


def check_once(kiosk: Kiosk, presentation: tuple[str, str], issuer_key: JWK, revoked: int, now: int) -> None:
    """The measured path must be the real one: 3 fields disclosed, a nonce used once, a revoked license refused."""
    text, nonce = presentation
    kiosk.outstanding = {nonce}
    claims = kiosk.verify(text, nonce, now)
    if {name for name in FIELDS if name in claims} != set(DISCLOSED):
        raise SystemExit("wallet reference: the presentation does not disclose exactly " + ", ".join(DISCLOSED))
    key = JWK.generate(kty="EC", crv="P-256")
    shown = present(issue(issuer_key, key, revoked, now), key, "n")
    kiosk.outstanding = {"n"}
    for attempt, expected in ((lambda: kiosk.verify(text, nonce, now), "key_binding_nonce"), (lambda: kiosk.verify(shown, "n", now), "license_revoked")):
        try:
            attempt()
        except Rejected as rejection:
            if str(rejection) != expected:
                raise
            continue
        raise SystemExit(f"wallet reference: expected {expected}, but it verified")


def percentile(sorted_ns: list[int], p: float) -> float:
    """Nearest rank, in milliseconds."""
    index = min(len(sorted_ns), max(1, math.ceil(p / 100 * len(sorted_ns)))) - 1
    return sorted_ns[index] / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per phase")
    duration = parser.parse_args().duration
    now = int(time.time())
    issuer_key = JWK.generate(kty="EC", crv="P-256")

    status = StatusList(LIST_SIZE)
    revoked = set(random.sample(range(LIST_SIZE), LIST_SIZE // 100))
    for index in revoked:
        status.set(index, 1)
    token = signed_status_token(status, issuer_key, now)
    began = time.perf_counter()
    lists = held_status(token, issuer_key)
    token_ms = (time.perf_counter() - began) * 1000
    kiosk = Kiosk(issuer_key, lists)

    holder = JWK.generate(kty="EC", crv="P-256")
    issued, license_bytes = 0, 0
    began = time.perf_counter()
    deadline = began + duration
    while True:
        license_bytes = len(issue(issuer_key, holder, 7, now).encode())
        issued += 1
        if time.perf_counter() >= deadline:
            break
    issue_seconds = time.perf_counter() - began

    presentations = []
    for _ in range(100):
        key = JWK.generate(kty="EC", crv="P-256")
        index = random.randrange(LIST_SIZE)
        while index in revoked:
            index = random.randrange(LIST_SIZE)
        license = issue(issuer_key, key, index, now)
        for _ in range(10):
            nonce = b64url(secrets.token_bytes(16))
            presentations.append((present(license, key, nonce), nonce))

    check_once(kiosk, presentations[0], issuer_key, next(iter(revoked)), now)

    latencies: list[int] = []
    busy = 0
    while busy < duration * 1e9:
        kiosk.outstanding = {nonce for _, nonce in presentations}
        for text, nonce in presentations:
            began_ns = time.perf_counter_ns()
            claims = kiosk.verify(text, nonce, now)
            elapsed = time.perf_counter_ns() - began_ns
            if not all(name in claims for name in DISCLOSED):
                raise AssertionError("a presentation lost a disclosure")
            busy += elapsed
            latencies.append(elapsed)
    latencies.sort()

    print(
        f"wallet reference (Python {platform.python_version()}, sd-jwt {version('sd-jwt')} on jwcrypto {version('jwcrypto')}, "
        f"one thread): the same 营业执照, {len(FIELDS)} disclosable claims, holder-bound, status in a 1,000,000-entry list (1% revoked)"
    )
    print(f"  issue: {issued / issue_seconds:.0f} licenses/s   ({issued} in {issue_seconds:.1f} s, {license_bytes} bytes each)")
    print(
        f"  verify: {len(latencies) / (busy / 1e9):.0f} presentations/s   (KB-JWT, {len(DISCLOSED)} disclosures, offline status; "
        f"{len(latencies)} in {busy / 1e9:.1f} s, {len(presentations[0][0])} bytes each)"
    )
    print(
        f"  kiosk verification: p50 {percentile(latencies, 50):.3f} ms   p90 {percentile(latencies, 90):.3f} ms   "
        f"p99 {percentile(latencies, 99):.3f} ms   max {latencies[-1] / 1e6:.3f} ms"
    )
    print(f"  status list token: {len(token) / 1024:.1f} KB, verified and inflated once in {token_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
