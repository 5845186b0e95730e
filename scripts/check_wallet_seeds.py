#!/usr/bin/env python3
"""Checks the wallet's seed data that the server does not load yet.

- matters.json: `supersedesLicenseTypes` / `revokesLicenseTypes` name license types of license-types.json, are
  non-empty when present, list no type twice, and no type is both superseded and revoked by one matter.

Usage: scripts/check_wallet_seeds.py [SEEDS_DIR]   (default: seeds/ beside scripts/)
Prints every problem and exits 1, or prints a summary and exits 0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def load(directory: Path, name: str):
    with open(directory / name, encoding="utf-8") as f:
        return json.load(f)


def check_relations(matters: list[dict], types: dict[str, dict]) -> tuple[list[str], int]:
    problems: list[str] = []
    count = 0
    for matter in matters:
        keys = ("supersedesLicenseTypes", "revokesLicenseTypes")
        for key in keys:
            if key not in matter:
                continue
            codes = matter[key]
            where = f"matter {matter['code']}: {key}"
            if not isinstance(codes, list) or not codes:
                problems.append(f"{where}: must be a non-empty array (omit the key when empty)")
                continue
            if len(set(codes)) != len(codes):
                problems.append(f"{where}: lists a type twice")
            for code in codes:
                count += 1
                if code not in types:
                    problems.append(f"{where}: unknown license type {code}")
                elif types[code].get("issuance") != "on_approval":
                    problems.append(f"{where}: {code} is not issued on approval, so no approval can void it")
        both = set(matter.get(keys[0], [])) & set(matter.get(keys[1], []))
        if both:
            problems.append(f"matter {matter['code']}: both supersedes and revokes {sorted(both)}")
    return problems, count


def main() -> int:
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "seeds"
    types = {t["code"]: t for t in load(directory, "license-types.json")}
    matters = load(directory, "matters.json")
    problems, relations = check_relations(matters, types)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"ok: {relations} supersede/revoke entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
