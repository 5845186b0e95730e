#!/usr/bin/env python3
"""Checks the wallet's seed data that the server does not load yet.

- matters.json: `supersedesLicenseTypes` / `revokesLicenseTypes` name license types of license-types.json, are
  non-empty when present, list no type twice, and no type is both superseded and revoked by one matter.
- demo-licenses.json: each license's holder is a demo account of demo-accounts.json of the kind the type allows
  (citizen for `person`, enterprise for `organization`), its fields are exactly the ones the type declares, every
  value is a non-empty string, dates are real dates not before the holder's birth, and what the holder's number
  says agrees with the fields (id_number / credit_code, name, birth date, sex, a spouse's side on a 结婚证).

Usage: scripts/check_wallet_seeds.py [SEEDS_DIR]   (default: seeds/ beside scripts/)
Prints every problem and exits 1, or prints a summary and exits 0.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
from pathlib import Path

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Fields whose value is the holder's own name, per type (others, such as a 户主 or a 法定代表人, may name someone else).
OWN_NAME = {
    "resident_id_card": "name",
    "household_register": "name",
    "driving_license": "name",
    "vehicle_license": "owner",
    "real_estate_certificate": "right_holder",
    "marriage_certificate": "holder_name",
    "business_license": "name",
    "food_business_license": "operator_name",
}


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


def parse_date(value: str) -> datetime.date | None:
    if not DATE.match(value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def check_holdings(licenses: list[dict], types: dict[str, dict], accounts: list[dict]) -> list[str]:
    problems: list[str] = []
    holders = {a["idNumber"]: a for a in accounts if a["kind"] == "citizen"}
    holders.update({a["creditCode"]: a for a in accounts if a["kind"] == "enterprise"})
    allowed = {"person": {"citizen"}, "organization": {"enterprise"}, "either": {"citizen", "enterprise"}}
    for index, license in enumerate(licenses):
        where = f"license {index} ({license.get('type')} of {license.get('holder')})"
        if set(license) != {"holder", "type", "issuedOn", "fields"}:
            problems.append(f"{where}: keys must be holder, type, issuedOn, fields; has {sorted(license)}")
            continue
        type_ = types.get(license["type"])
        account = holders.get(license["holder"])
        if type_ is None:
            problems.append(f"{where}: unknown license type")
            continue
        if account is None:
            problems.append(f"{where}: no citizen idNumber or enterprise creditCode in demo-accounts.json")
            continue
        if account["kind"] not in allowed[type_["holder"]]:
            problems.append(f"{where}: a {type_['holder']} type cannot be held by an {account['kind']} account")
        fields = license["fields"]
        declared = [f["name"] for f in type_["fields"]]
        missing = [n for n in declared if n not in fields]
        extra = [n for n in fields if n not in declared]
        if missing:
            problems.append(f"{where}: missing fields {missing}")
        if extra:
            problems.append(f"{where}: fields the type does not declare {extra}")
        birth = None
        if account["kind"] == "citizen":
            number = account["idNumber"]
            birth = parse_date(f"{number[6:10]}-{number[10:12]}-{number[12:14]}")
        issued = parse_date(license["issuedOn"]) if isinstance(license["issuedOn"], str) else None
        if issued is None:
            problems.append(f"{where}: issuedOn must be a real YYYY-MM-DD date")
        elif birth and issued < birth:
            problems.append(f"{where}: issued before the holder was born")
        for name, value in fields.items():
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where}: field {name} must be a non-empty string")
                continue
            if DATE.match(value) and (parse_date(value) is None or (birth and parse_date(value) < birth)):
                problems.append(f"{where}: field {name} = {value} is not a real date after the holder's birth")
        own = OWN_NAME.get(license["type"])
        if own and fields.get(own) != account["name"]:
            problems.append(f"{where}: {own} is {fields.get(own)!r}, the holder is {account['name']}")
        if account["kind"] == "citizen":
            number = account["idNumber"]
            sex = "男" if int(number[16]) % 2 else "女"
            if "id_number" in fields and fields["id_number"] != number:
                problems.append(f"{where}: id_number is not the holder's")
            if "birth_date" in fields and parse_date(fields["birth_date"]) != birth:
                problems.append(f"{where}: birth_date disagrees with the id number")
            if "sex" in fields and fields["sex"] != sex:
                problems.append(f"{where}: sex disagrees with the id number")
            if license["type"] == "marriage_certificate":
                side = "a" if sex == "男" else "b"
                if fields.get(f"spouse_{side}_id_number") != number or fields.get(f"spouse_{side}_name") != account["name"]:
                    problems.append(f"{where}: the holder is not the {'男方' if side == 'a' else '女方'} named on it")
        elif "credit_code" in fields and fields["credit_code"] != license["holder"]:
            problems.append(f"{where}: credit_code is not the holder's")
    return problems


def main() -> int:
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "seeds"
    types = {t["code"]: t for t in load(directory, "license-types.json")}
    matters = load(directory, "matters.json")
    problems, relations = check_relations(matters, types)
    licenses = load(directory, "demo-licenses.json")
    problems += check_holdings(licenses, types, load(directory, "demo-accounts.json"))
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"ok: {relations} supersede/revoke entries, {len(licenses)} demo licenses")
    return 0


if __name__ == "__main__":
    sys.exit(main())
