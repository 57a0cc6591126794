"""Development API keys for the embedded defaults: generated once, kept in a local file, never committed.

When the settings configure no API keys, the service creates a case-system key, an operator key and one
key per repair centre of the coverage, writes them (readable by the owner only) to ``dev_keys_path`` and
uses their digests. A production deployment configures ``api_keys`` and never gets here.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from logistics.config import ApiKey


def load_or_create(path: Path, centre_ids: Iterable[str]) -> tuple[list[ApiKey], dict[str, str]]:
    """The keys (as digests) and the plain keys by name, creating missing ones in ``path``."""
    plain: dict[str, str] = {}
    if path.exists():
        plain = json.loads(path.read_text(encoding="utf-8"))
    wanted = ["case_system", "operator", *(f"centre:{cid}" for cid in sorted(centre_ids))]
    changed = False
    for name in wanted:
        if name not in plain:
            plain[name] = "dev_" + secrets.token_urlsafe(24)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(plain, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    keys = []
    for name, secret in plain.items():
        if name.startswith("centre:"):
            keys.append(
                ApiKey(
                    name=name,
                    role="repair_centre",
                    centre_id=name.split(":", 1)[1],
                    sha256=ApiKey.digest(secret),
                )
            )
        elif name in ("case_system", "operator"):
            keys.append(ApiKey(name=name, role=name, sha256=ApiKey.digest(secret)))
    return keys, plain
