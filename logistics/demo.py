"""``logistics demo``: one journey of each method against a running server, printed step by step.

It acts as every party in turn: the case system (creates the repair), the customer (downloads the label),
the simulated carrier (signed tracking pushes), and the repair centre (receipt and dispatch). It uses the
development API keys that ``logistics serve`` wrote, and the simulated carrier's development push secret.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from carriers.sim.push import sign_push
from carriers.sim.settings import DEVELOPMENT_PUSH_SECRET

JOURNEYS = (
    (
        "courier pickup",
        {
            "name": "Camille Martin",
            "street_lines": ["14 rue Oberkampf"],
            "city": "Paris",
            "postal_code": "75011",
            "country": "FR",
            "phone": "+33 1 00 00 00 00",
        },
    ),
    (
        "customer self-shipment",
        {
            "name": "Ghjuvanni Santoni",
            "street_lines": ["3 cours Napoléon"],
            "city": "Ajaccio",
            "postal_code": "20000",
            "country": "FR",
            "phone": "+33 4 95 00 00 00",
        },
    ),
)


class DemoFailed(Exception):
    pass


class _Client:
    def __init__(self, http: aiohttp.ClientSession, base_url: str, keys: dict[str, str]) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.keys = keys

    async def call(
        self,
        method: str,
        path: str,
        who: str | None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Any:
        all_headers = dict(headers or {})
        if who:
            all_headers["Authorization"] = f"Bearer {self.keys[who]}"
        if body is not None:
            all_headers["Idempotency-Key"] = secrets.token_hex(8)
        async with self.http.request(
            method, self.base_url + path, json=body, data=raw, headers=all_headers
        ) as response:
            data = await response.read()
            if response.status >= 400:
                raise DemoFailed(f"{method} {path} answered {response.status}: {data.decode(errors='replace')}")
            if response.content_type.endswith("json"):
                return json.loads(data)
            return data

    async def push(self, tracking_number: str, code: str, location: str) -> None:
        now = datetime.now(UTC)
        body = json.dumps(
            {
                "events": [
                    {
                        "tracking_number": tracking_number,
                        "code": code,
                        "occurred_at": now.isoformat(),
                        "location": location,
                    }
                ]
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            **sign_push(DEVELOPMENT_PUSH_SECRET, body, int(now.timestamp())),
        }
        await self.call("POST", "/v1/carriers/sim/events", None, raw=body, headers=headers)


def _step(text: str) -> None:
    print(f"  - {text}", flush=True)


async def _journey(client: _Client, title: str, site: dict[str, Any]) -> None:
    print(f"\n== {title}", flush=True)
    request = {
        "case_id": f"DEMO-{secrets.token_hex(3).upper()}",
        "language": "fr",
        "site": site,
        "device": {"product_line": "notebook", "model": "EliteBook 840 G9", "serial_number": "5CG1234XYZ"},
        "entitlement": {
            "service_level": "either",
            "country_of_purchase": "FR",
            "items": [{"kind": "ac_adapter"}],
        },
    }
    created = await client.call("POST", "/v1/repairs", "case_system", request)
    repair = created["repair"]
    inbound = repair["inbound"]
    _step(
        f"case system created repair {repair['id']} for case {repair['case_id']}: {inbound['method']} "
        f"by {inbound['carrier']} to centre {repair['centre_id']} (state {repair['state']})"
    )
    for reason in created["decision"]["reasons"]:
        _step(f"  reason {reason['code']}: {reason['message']}")
    if created["pickup"]:
        slot = created["pickup"]
        _step(
            f"courier pickup booked ({inbound['pickup_confirmation']}) on {slot['local_date']} between "
            f"{slot['ready_time']} and {slot['close_time']} ({slot['time_zone']})"
        )
    label_url = created["customer_label"]["url"]
    pdf = await client.call("GET", label_url.removeprefix(client.base_url), None)
    expires = created["customer_label"]["expires_at"]
    _step(f"customer's label link: {label_url} ({len(pdf)} bytes of PDF, expires {expires})")
    number = inbound["tracking_number"]
    first = "PU" if inbound["method"] == "courier_pickup" else "DO"
    await client.push(number, first, site["city"])
    await client.push(number, "IT", "Hub")
    state = (await client.call("GET", f"/v1/repairs/{repair['id']}", "case_system"))["state"]
    _step(f"carrier scans {number}: {first}, IT -> {state}")
    centre = repair["centre_id"]
    centre_key = f"centre:{centre}"
    received = await client.call(
        "POST",
        f"/v1/centres/{centre}/receipts",
        centre_key,
        {"tracking_number": number, "items_received": ["ac_adapter"]},
    )
    _step(f"centre {centre} scanned the parcel in -> {received['state']}")
    dispatched = await client.call(
        "POST",
        f"/v1/centres/{centre}/dispatches",
        centre_key,
        {"repair_id": repair["id"], "outcome": "replaced", "replacement_serial": "5CG9999NEW"},
    )
    outbound = dispatched["repair"]["outbound"]
    _step(
        f"centre dispatched a replacement (serial 5CG9999NEW) with {outbound['carrier']}, tracking "
        f"{outbound['tracking_number']}; centre's label: {dispatched['label']['url']}"
    )
    await client.push(outbound["tracking_number"], "PU", "Lyon")
    await client.push(outbound["tracking_number"], "DL", site["city"])
    final = await client.call("GET", f"/v1/repairs/{repair['id']}", "case_system")
    _step(f"carrier picked up and delivered -> {final['state']}")
    history = await client.call("GET", f"/v1/repairs/{repair['id']}/events", "case_system")
    _step("history:")
    for entry in history["items"]:
        what = entry["to_state"] or entry["status"] or entry["details"].get("code") or ""
        _step(f"  {entry['seq']:>2} {entry['occurred_at'][:19]} {entry['kind']:<14} {what:<24} by {entry['actor']}")
    if final["state"] != "delivered":
        raise DemoFailed(f"the journey ended in {final['state']}")


def read_keys(keys_path: Path) -> dict[str, str] | None:
    """The development keys that ``logistics serve`` wrote; None (and a message) when there are none."""
    try:
        keys: dict[str, str] = json.loads(keys_path.read_text(encoding="utf-8"))
    except OSError as exc:
        print(
            f"logistics demo: cannot read the development keys at {keys_path}: {exc.strerror}. "
            "Start the server with `make run` first."
        )
        return None
    return keys


async def run_demo(base_url: str, keys: dict[str, str]) -> int:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        client = _Client(http, base_url, keys)
        try:
            for title, site in JOURNEYS:
                await _journey(client, title, site)
        except (DemoFailed, aiohttp.ClientError) as exc:
            print(f"\nlogistics demo failed: {exc}")
            return 1
    print("\nboth journeys completed")
    return 0
