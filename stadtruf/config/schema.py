"""JSON Schema of the two file kinds, for the admin's editor (YAML language server).

The sample files point at the exported schema in their first line
(``# yaml-language-server: $schema=schema/client.schema.json``), so the editor completes keys,
shows the German field descriptions and flags errors while the admin types. The full check,
across files, stays `stadtruf config check`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from stadtruf.config.model import Client, ServiceCenter

KINDS: dict[str, type[BaseModel]] = {"client": Client, "service-center": ServiceCenter}

# The models' docstrings are written for developers; the editor shows these instead.
_DESCRIPTIONS = {
    "Client": "Ein Kunde des Servicecenters: Stadt, Kreis, Jobcenter oder städtische Gesellschaft",
    "ServiceCenter": "Gemeinsame Einstellungen des Servicecenters",
    "Prompt": "Ansage: Text (für Sprachausgabe) und/oder Ansagedatei",
    "MenuTree": "Menüs des Kunden nach Namen; der Anruf beginnt in 'start'",
    "MenuNode": "Ein Menü: Ansage, dann eine Taste",
    "MenuDefaults": "Werte für Menüs, die sie nicht selbst setzen",
    "Topic": "Thema eines Anliegens",
    "UnknownCaller": "Wenn die Stadt des Anrufers nicht aus den Rufnummern folgt",
    "SubmenuAction": "Untermenü spielen",
    "LanguageAction": "Sprache wechseln und Menü spielen",
    "QueueAction": "In die Warteschlange zum Thema",
    "TransferAction": "Weiterleiten an Rufnummer oder Endpunkt",
    "AnnounceAction": "Ansage spielen, dann auflegen",
    "ClientAction": "Kunde gewählt (nur im Stadtauswahl-Menü)",
    "CallRecords": "Anrufliste: ein Datensatz je Anruf (SQLite oder PostgreSQL)",
    "HoursConfig": "Öffnungszeiten: Woche, Ausnahmen, Feiertage des Bundeslands",
    "HoursException": "Abweichender Tag oder Zeitraum: geschlossen oder andere Zeiten",
    "WhenClosed": "Außerhalb der Öffnungszeiten: Ansage, wann wir wieder da sind, dann action",
    "ClosedTransfer": "Weiterleiten an Rufnummer oder Endpunkt",
    "Capacity": "RTP-Ports und Höchstzahl gleichzeitiger Anrufe (Kapazitätsgrenze)",
    "ServiceLevelTarget": "Service-Level-Ziel: percent % der Anrufe innerhalb von seconds s",
    "ServiceLevelSettings": "Service-Level: Standardziel und Grenze der Kurzaufleger",
    "Billing": "Abrechnung je Monat: Pauschale, je Anruf und/oder je angefangene Minute",
}


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema for `kind` ("client" or "service-center")."""
    model = KINDS[kind]
    result = model.model_json_schema()
    for name, definition in [(model.__name__, result), *result.get("$defs", {}).items()]:
        if name in _DESCRIPTIONS:
            target = definition["anyOf"][1] if "anyOf" in definition else definition
            target["description"] = _DESCRIPTIONS[name]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **result}


def schema_text(kind: str) -> str:
    return json.dumps(schema(kind), indent=2, ensure_ascii=False) + "\n"
