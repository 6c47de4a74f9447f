"""Calls as life events, one per outcome: shared by the record tests (pure and in the stores)."""

from __future__ import annotations

from stadtruf.core.lifecycle import (
    AgentAnswered,
    AgentRang,
    Arrived,
    CallbackRequested,
    KeyPressed,
    LifeEvent,
    MenuEntered,
    OriginDecided,
    Overflowed,
    Queued,
    RingEnded,
    RouteChosen,
    Transferred,
)

T0 = 1_780_000_000.0
ARRIVE = Arrived(dialled="115", caller="02041123456")
ORIGIN = OriginDecided(client="bottrop", rule="area_code", reason="Vorwahl 02041")
MENU = MenuEntered(menu="main", client="bottrop")
TO_KFZ = RouteChosen(kind="queue", target="kfz", topic="kfz", menu="main", cause="key")
QUEUED = Queued(topic="kfz")


CASES: list[tuple[str, list[LifeEvent], dict[str, object]]] = [
    ("abandoned in menu", [ORIGIN, MENU, KeyPressed("1", "main")], {"outcome": "abandoned_menu"}),
    ("abandoned in queue", [MENU, TO_KFZ, QUEUED], {"outcome": "abandoned_queue", "wait_s": 1.0}),
    (
        "abandoned while ringing",
        [TO_KFZ, QUEUED, AgentRang("a1")],
        {"outcome": "abandoned_ringing", "agent": "a1", "wait_s": 2.0, "rings": 1},
    ),
    (
        "rang, then waited again",
        [QUEUED, AgentRang("a1"), RingEnded("a1", "busy")],
        {"outcome": "abandoned_queue", "rang_at": T0 + 2},
    ),
    (
        "overflow to a transfer",
        [
            QUEUED,
            Overflowed("max_wait", "transfer", "0203283-0"),
            Transferred("0203283-0", "overflow"),
        ],
        {"outcome": "overflow", "overflow_target": "0203283-0", "wait_s": 1.0},
    ),
    (
        "overflow into another queue, answered there",
        [QUEUED, Overflowed("max_wait", "queue", "vermittlung"), AgentAnswered("a3")],
        {"outcome": "answered", "overflow_action": "queue", "wait_s": 2.0, "topic": "kfz"},
    ),
    (
        "overflow into another queue, abandoned there",
        [QUEUED, Overflowed("empty", "queue", "vermittlung")],
        {"outcome": "abandoned_queue", "overflow_target": "vermittlung"},
    ),
    (
        "callback after waiting",
        [QUEUED, Overflowed("max_wait", "callback"), CallbackRequested("callback")],
        {"outcome": "callback", "wait_s": 1.0, "overflow_target": None},
    ),
    (
        "voicemail",
        [QUEUED, Overflowed("max_wait", "voicemail"), CallbackRequested("voicemail")],
        {"outcome": "voicemail", "callback": "voicemail"},
    ),
    (
        "transferred by the menu",
        [
            RouteChosen("transfer", "PJSIP/wbd", "abfall", "main", "key"),
            Transferred("PJSIP/wbd", "menu"),
        ],
        {"outcome": "transferred", "transfer_target": "PJSIP/wbd", "topic": "abfall"},
    ),
    (
        "transfer chosen, caller gone before it happened",
        [RouteChosen("transfer", "PJSIP/wbd", None, "main", "key")],
        {"outcome": "abandoned_menu"},
    ),
    (
        "answered, then the agent transferred to an office",
        [QUEUED, AgentAnswered("a1"), Transferred("0204170-0", "agent")],
        {"outcome": "answered", "transferred_by": "agent", "talk_s": 1.0, "wait_s": 1.0},
    ),
    (
        "announcement",
        [RouteChosen("announce", "info", None, "main", "key")],
        {"outcome": "announced", "route_target": "info"},
    ),
    (
        "menu hung up",
        [MENU, RouteChosen("hangup", "max_prompts", None, "main", "max_prompts")],
        {"outcome": "hangup", "route_cause": "max_prompts"},
    ),
    (
        "closed, then voicemail",
        [RouteChosen("queue", "kfz", "kfz", "", "closed"), CallbackRequested("voicemail")],
        {"outcome": "closed", "closed": True, "callback": "voicemail", "queued_at": None},
    ),
    (
        "town menu: the caller picks the client",
        [
            OriginDecided(None, "town_menu", "Vorwahl unbekannt"),
            MenuEntered("towns", None),
            KeyPressed("2", "towns"),
            RouteChosen("client", "bottrop", None, "towns", "key"),
            OriginDecided("bottrop", "town_menu", "Taste 2"),
        ],
        {"client": "bottrop", "origin_rule": "town_menu", "menu_path": ("towns",)},
    ),
]
