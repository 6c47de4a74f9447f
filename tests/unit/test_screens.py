"""What the wallboard and an agent's screen show (pure), and the knowledge links' lookup."""

from __future__ import annotations

from datetime import datetime

from stadtruf.config.agents import AgentsConfig
from stadtruf.config.knowledge import KnowledgeLink, links_for
from stadtruf.core import live_figures as lf
from stadtruf.core.hours import BERLIN
from stadtruf.core.lifecycle import (
    AgentAnswered,
    AgentRang,
    Arrived,
    Ended,
    Happened,
    MenuEntered,
    OriginDecided,
    Queued,
    RouteChosen,
)
from stadtruf.core.queue import (
    AgentLoggedIn,
    AgentPaused,
    AgentRegistered,
    CallerJoined,
    QueueState,
    RingAnswered,
    new_queue,
    step,
)
from stadtruf.core.screens import (
    CallBook,
    Link,
    Names,
    Office,
    Privacy,
    agent_screen,
    may_transfer,
    wallboard,
)
from stadtruf.core.service_level import Target

CONFIG = AgentsConfig.model_validate(
    {
        "defaults": {"announce_every": 0, "wrapup": 0, "retry": 0, "autopause_after": 0},
        "agents": [
            {"id": "agent-101", "name": "Anna", "skills": [{"topic": "*"}]},
            {"id": "agent-102", "name": "Nils", "skills": [{"topic": "*"}]},
        ],
    }
)
NAMES = Names({"bottrop": ("Bottrop", "BOT"), "duisburg": ("Duisburg", "DU")}, {"kfz": "Kfz"})
AT = datetime(2026, 6, 3, 10, 0, tzinfo=BERLIN).timestamp()


def ringing_state() -> QueueState:
    state = new_queue(CONFIG)
    for event in (
        AgentRegistered("agent-101", now=1),
        AgentLoggedIn("agent-101", now=1),
        AgentLoggedIn("agent-102", now=1),
        AgentPaused("agent-102", "Mittag", now=1),
        CallerJoined("c1", "kfz", "bottrop", now=10),
    ):
        state, _ = step(state, event)
    return state


def life(call: str, caller: str | None, withheld: bool = False) -> list[Happened]:
    return [
        Happened(call, AT, Arrived("115", caller, withheld)),
        Happened(call, AT, OriginDecided("bottrop", "area_code", "Vorwahl 02041")),
        Happened(call, AT, MenuEntered("main", "bottrop")),
        Happened(call, AT + 1, RouteChosen("queue", "kfz", "kfz", "main", "digit")),
        Happened(call, AT + 2, Queued("kfz")),
        Happened(call, AT + 2, AgentRang("agent-101")),
    ]


def test_the_agent_screen_while_the_phone_rings() -> None:
    book = CallBook()
    for happened in life("c1", "+49 2041 123456"):
        book.record(happened)
    links = [KnowledgeLink(title="Kfz", url="https://bottrop.example/kfz")]
    screen = agent_screen(
        ringing_state(),
        "agent-101",
        14,
        AT + 3,
        book.open_call("c1"),
        NAMES,
        [Link(x.title, x.url) for x in links],
        Privacy("area_code", ("02041",)),
        (),
    )
    assert screen is not None
    assert screen["agent"]["status"] == "ringing"
    call = screen["call"]
    assert (call["client_name"], call["tag"], call["topic_name"]) == ("Bottrop", "BOT", "Kfz")
    assert call["origin"] == "Vorwahl 02041"
    assert call["caller"] == "02041…"
    assert call["waited_s"] == 4
    assert [k["title"] for k in screen["knowledge"]] == ["Kfz"]
    # Another privacy setting: the number in full, or not at all; withheld says so.
    record = book.open_call("c1")
    full = agent_screen(
        ringing_state(), "agent-101", 14, AT, record, NAMES, (), Privacy("full"), ()
    )
    none = agent_screen(
        ringing_state(), "agent-101", 14, AT, record, NAMES, (), Privacy("none"), ()
    )
    assert full is not None and full["call"]["caller"] == "02041123456"
    assert none is not None and "Datenschutz" in none["call"]["caller"]
    hidden = CallBook()
    for happened in life("c1", None, withheld=True):
        hidden.record(happened)
    shown = agent_screen(
        ringing_state(), "agent-101", 14, AT, hidden.open_call("c1"), NAMES, (), Privacy(), ()
    )
    assert shown is not None and shown["call"]["caller"] == "Rufnummer unterdrückt"
    assert (
        agent_screen(ringing_state(), "agent-999", 14, AT, None, NAMES, (), Privacy(), ()) is None
    )


def test_while_talking_the_wait_is_until_the_answer() -> None:
    book = CallBook()
    for happened in (*life("c1", "02041123"), Happened("c1", AT + 9, AgentAnswered("agent-101"))):
        book.record(happened)
    state, _ = step(ringing_state(), RingAnswered("agent-101", "c1", now=19))
    record = book.open_call("c1")
    offices = [Office("Abfall", "0204170350")]
    busy = agent_screen(state, "agent-101", 20, AT + 20, record, NAMES, (), Privacy(), (), offices)
    assert busy is not None and busy["agent"]["status"] == "busy"
    assert busy["call"]["waited_s"] == 7  # queued at +2, answered at +9
    assert busy["offices"] == [{"label": "Abfall", "number": "0204170350"}]
    ringing = agent_screen(
        ringing_state(), "agent-101", 14, AT, record, NAMES, (), Privacy(), (), offices
    )
    assert ringing is not None and ringing["offices"] == []  # only while talking
    assert may_transfer(offices, "0204170350") and not may_transfer(offices, "0900123")


def test_the_agents_last_calls_of_the_day() -> None:
    book = CallBook()
    for happened in (
        *life("c1", "02041123"),
        Happened("c1", AT + 5, AgentAnswered("agent-101")),
        Happened("c1", AT + 65, Ended("caller")),
    ):
        book.record(happened)
    state = new_queue(CONFIG)
    recent = book.recent["agent-101"]
    screen = agent_screen(state, "agent-101", 0, AT + 70, None, NAMES, (), Privacy(), recent)
    assert screen is not None and screen["call"] is None and screen["knowledge"] == []
    assert screen["recent"] == [
        {
            "time": "10:00",
            "client_name": "Bottrop",
            "topic_name": "Kfz",
            "talk_s": 60,
            "outcome": "angenommen",
        }
    ]
    tomorrow = agent_screen(state, "agent-101", 0, AT + 86400, None, NAMES, (), Privacy(), recent)
    assert tomorrow is not None and tomorrow["recent"] == []


def test_the_wallboard_level_is_the_live_figures_rule() -> None:
    target = Target(0.8, 30)
    today = lf.Today()
    labels = lf.labels_of(["bottrop", "duisburg"], ["kfz"])
    calls = [
        lf.CallCounted("bottrop", "kfz", "answered", 10, lf.ANSWERED),
        lf.CallCounted("bottrop", "kfz", "answered", 45, lf.ANSWERED),
        lf.CallCounted("bottrop", "kfz", "abandoned_queue", 2, lf.ABANDONED),  # short
        lf.CallCounted("bottrop", "kfz", "abandoned_queue", 20, lf.ABANDONED),
    ]
    for i, call in enumerate(calls):
        today.add(call, AT + i * 3600)
    levels = lf.service_levels(today, AT, labels.clients, {}, target)
    board = wallboard(ringing_state(), 14, NAMES, levels, today.hours_of(AT))
    bottrop = next(x for x in board["service_levels"] if x["client"] == "bottrop")
    assert bottrop["service_level_percent"] == round(100 / 3, 1)
    assert bottrop["client_name"] == "Bottrop"
    assert [(h["hour"], h["percent"]) for h in bottrop["hours"]] == [
        (10, 100.0),
        (11, 0.0),
        (12, None),
        (13, 0.0),
    ]
    (line,) = board["waiting"]
    assert (line["client_name"], line["topic_name"], line["longest_s"]) == ("Bottrop", "Kfz", 4)
    texts = {a["id"]: a["text"] for a in board["agents"]}
    assert texts == {"agent-101": "Klingelt", "agent-102": "Pause: Mittag"}


def test_knowledge_links_of_the_topic_then_of_its_leika_key() -> None:
    a = KnowledgeLink(title="Seite", url="https://x.example/a")
    b = KnowledgeLink(title="LeiKa", url="https://x.example/b", phone="0203 283-0")
    knowledge = {"kfz": (a,), "99036012104000": (b, a)}
    assert links_for(knowledge, "kfz", "99036012104000") == [a, b]
    assert links_for(knowledge, "kfz", None) == [a]
    assert links_for(knowledge, None, None) == []
