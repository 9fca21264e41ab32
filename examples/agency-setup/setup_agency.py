"""An agency sets up two client workspaces, each with its own API key and plugins, using an operator key.

    python setup_agency.py http://127.0.0.1:8000 OPERATOR_KEY [--prefix acme]

Create the operator key once on the server: ``scrm keys create --operator``. The script prints, as
JSON, each workspace's slug and the key to hand to that client (shown only this once by the server).
Run again, it reuses the workspaces that exist and makes new keys.
"""

from __future__ import annotations

import argparse
import contextlib
import json

import scrm_sdk

CLIENTS = [
    {"suffix": "tea", "name": "Tea House", "time_zone": "Asia/Shanghai", "plugins": ["points"]},
    {"suffix": "bikes", "name": "Bike Shop", "time_zone": "Asia/Shanghai", "plugins": ["points", "lottery"]},
]
#: what a client's own systems may do with its key: members, events, tags, consent, its plugins
CLIENT_SCOPES = [
    "members:read",
    "members:write",
    "plugins:read",
    "events:read",
    "events:write",
    "tags:read",
    "tags:write",
    "consent:read",
    "consent:write",
    "points:read",
    "points:write",
    "lottery:read",
    "lottery:write",
]


def set_up(url: str, operator_key: str, prefix: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    with scrm_sdk.Client(url, api_key=operator_key) as agency:
        for client in CLIENTS:
            slug = f"{prefix}-{client['suffix']}"
            with contextlib.suppress(scrm_sdk.Conflict):  # set up before: keep it
                agency.workspaces.create_workspace(
                    {"slug": slug, "name": str(client["name"]), "time_zone": client["time_zone"]}
                )
            with scrm_sdk.Client(url, api_key=operator_key, workspace=slug) as workspace:
                for plugin in client["plugins"]:
                    workspace.plugins.set_plugin({"name": plugin, "enabled": True})
                scopes = [
                    s
                    for s in CLIENT_SCOPES
                    if s.split(":")[0] not in {"points", "lottery"} or s.split(":")[0] in client["plugins"]
                ]
                created = workspace.keys.create_key({"name": f"{client['name']} systems", "scopes": scopes})
            keys[slug] = created.key
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("operator_key")
    parser.add_argument("--prefix", default="agency")
    args = parser.parse_args()
    print(json.dumps(set_up(args.url, args.operator_key, args.prefix), indent=2))


if __name__ == "__main__":
    main()
