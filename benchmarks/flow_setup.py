"""The three Asterisks of benchmarks.flow and what is rendered into them.

The ServiceCenter (127.0.7.1) carries both flows: 115 through the Stasis app, and the native
number `NATIVE_NUMBER` written in plain dialplan with app_queue, with the same prompts, the
same admission (`[stadtruf-capacity]`), the same agents and the same whisper to the agent. The
agents' phones (127.0.7.3, the testagents overlay) register every generated agent and answer
each ring after `answer_after` seconds with Echo(), so the conversation carries RTP both ways.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from stadtruf.asterisk.agents import AgentEndpoint
from stadtruf.asterisk.dialplan import numbers_conf
from stadtruf.asterisk.instance import AsteriskInstance
from stadtruf.asterisk.topology import (
    AddressPlan,
    agent_phones_settings,
    servicecenter_settings,
)
from stadtruf.config.agents import AgentsConfig
from stadtruf.config.load import ServiceCenterConfig
from stadtruf.core.prompts import media_uri
from stadtruf.core.queue_prompts import whisper
from stadtruf.paths import asterisk_docker_dir

# 127.0.7.x: clear of ./dev up (.0.1-3), the tests (.0.21-35, 127.0.5/6/8/9.x) and the other
# benchmarks (.0.41-43, .0.51-53).
PLAN = AddressPlan(servicecenter="127.0.7.1", carrier="127.0.7.2", agents="127.0.7.3")
NATIVE_NUMBER = "0999200"
CLIENT, SUBMENU, TOPIC = "bottrop", "kfz", "kfz"  # 115 from 02041…: Bottrop; "2" then "1"


@dataclass(frozen=True)
class Prompts:
    """The media of the measured path, as the app plays them (ARI `sound:` URIs)."""

    greeting: str
    main: str
    submenu: str
    whisper: tuple[str, ...]

    @staticmethod
    def of(config: ServiceCenterConfig) -> Prompts:
        client = config.clients[CLIENT]
        assert client.greeting is not None and client.menu is not None
        menus = client.menu.menus
        topic = config.service_center.topics[TOPIC]
        return Prompts(
            greeting=media_uri(client.greeting, "de"),
            main=media_uri(menus["main"].prompt, "de"),
            submenu=media_uri(menus[SUBMENU].prompt, "de"),
            whisper=tuple(t.media_uri for t in whisper(client.name, topic.name, "de")),
        )


def agent_ids(count: int) -> list[str]:
    return [f"agent-{n:04d}" for n in range(1, count + 1)]


def agents_config(count: int) -> AgentsConfig:
    """Every agent takes every topic; no wrap-up, no pause, no announcements: what is measured
    is the path, and app_queue below is configured the same."""
    return AgentsConfig.model_validate(
        {
            "defaults": {
                "strategy": "longest_idle",
                "ring_timeout": 15,
                "retry": 1,
                "wrapup": 0,
                "autopause_after": 0,
                "max_wait": 0,
                "announce_every": 0,
                "join_empty": True,
            },
            "agents": [
                {"id": a, "name": f"Agent {a}", "skills": [{"level": 1}]} for a in agent_ids(count)
            ],
        }
    )


def _sound(uri: str) -> str:
    return uri.removeprefix("sound:")


NATIVE_ROUTE = (
    f"exten => {NATIVE_NUMBER},1,Gosub(stadtruf-capacity,s,1(${{EXTEN}}))\n"
    " same => n,Goto(flowbench-main,s,1)\n"
)


def native_contexts(prompts: Prompts) -> str:
    """The same flow without the app: greeting, main menu, "2", submenu, "1", queue.

    Background() + WaitExten() is the classic IVR; a digit during the prompt interrupts it as
    the app's barge-in does."""
    return (
        "[flowbench-main]\n"
        "exten => s,1,Answer()\n"
        f" same => n,Playback({_sound(prompts.greeting)})\n"
        f" same => n,Background({_sound(prompts.main)})\n"
        " same => n,WaitExten(10)\n"
        " same => n,Hangup()\n"
        "exten => 2,1,Goto(flowbench-submenu,s,1)\n"
        "\n[flowbench-submenu]\n"
        f"exten => s,1,Background({_sound(prompts.submenu)})\n"
        " same => n,WaitExten(10)\n"
        " same => n,Hangup()\n"
        "exten => 1,1,Queue(flowbench-kfz)\n"
        " same => n,Hangup()\n"
    )


def queues_conf(prompts: Prompts, agents: list[str]) -> str:
    """app_queue as the agents file above: longest idle (leastrecent), 15 s ring, 1 s retry,
    no wrap-up, no announcements to the caller; the agent hears the same whisper first."""
    lines = [
        "[general]",
        "shared_lastcall = no",
        # Without autofill app_queue rings for the head caller only, one caller at a time;
        # the app's engine rings a free agent for every waiting caller at once.
        "autofill = yes",
        "",
        "[flowbench-kfz]",
        "strategy = leastrecent",
        "autofill = yes",
        "timeout = 15",
        "retry = 1",
        "wrapuptime = 0",
        "autopause = no",
        "ringinuse = no",
        "announce-frequency = 0",
        "periodic-announce-frequency = 0",
        "announce-holdtime = no",
        "announce-position = no",
        "joinempty = yes",
        "leavewhenempty = no",
        "musicclass = default",
        f"announce = {'&'.join(_sound(w) for w in prompts.whisper)}",
    ]
    lines += [f"member => PJSIP/{a}" for a in agents]
    return "\n".join(lines) + "\n"


def phones_dialplan(answer_after: float) -> str:
    """Every agent's phone rings `answer_after` s, answers and echoes the caller."""
    return (
        "[general]\nstatic = yes\nwriteprotect = yes\n\n"
        "[from-servicecenter]\n"
        "exten => _[+0-9a-zA-Z].,1,Ringing()\n"
        f" same => n,Wait({answer_after:g})\n"
        " same => n,Answer()\n"
        " same => n,Echo()\n"
        " same => n,Hangup()\n"
    )


@dataclass
class Site:
    center: AsteriskInstance
    phones: AsteriskInstance
    password: str
    agents: AgentsConfig


def build_site(
    config: ServiceCenterConfig, workdir: Path, agent_count: int, answer_after: float
) -> Site:
    """The ServiceCenter and the agents' phones, rendered (not started)."""
    password = secrets.token_urlsafe(18)
    agents = agents_config(agent_count)
    ids = agent_ids(agent_count)
    endpoints = [AgentEndpoint(a, secrets.token_urlsafe(12)) for a in ids]
    prompts = Prompts.of(config)
    conf = numbers_conf(config, agents).replace(
        "[stadtruf-numbers]\n", "[stadtruf-numbers]\n" + NATIVE_ROUTE, 1
    )
    conf += "\n" + native_contexts(prompts)
    settings = servicecenter_settings(
        PLAN, password, conf, endpoints, capacity=config.service_center.capacity
    )
    modules = (asterisk_docker_dir() / "asterisk" / "modules.conf").read_text()
    files = dict(settings.files)
    # The native flow needs app_queue, which the ServiceCenter does not load.
    files["modules.conf"] = modules + "\nload => app_queue.so\n"
    files["queues.conf"] = queues_conf(prompts, ids)
    center = AsteriskInstance(replace(settings, files=files), workdir / "servicecenter")
    phone_settings = agent_phones_settings(PLAN, password, endpoints)
    phone_files = dict(phone_settings.files)
    phone_files["extensions.conf"] = phones_dialplan(answer_after)
    phones = AsteriskInstance(replace(phone_settings, files=phone_files), workdir / "testagents")
    return Site(center, phones, password, agents)
