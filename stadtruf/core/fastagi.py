"""What the FastAGI commands answer a classic dialplan: the same rules as the Stasis app.

Pure: the AGI environment (raw lines, as Asterisk sent them) and the config go in, the channel
variables to set and the lines for Asterisk's log come out. `agi/` only moves them over the
socket. Asterisk sends, before the blank line that ends the environment::

    agi_network: yes
    agi_network_script: origin
    agi_callerid: 02041123456
    agi_rdnis: unknown
    agi_extension: 02041700
    agi_arg_1: kfz
    agi_arg_2: client=bottrop

Commands (the script part of ``agi://host:port/<command>``), arguments positional topic first,
the rest ``name=value``:

- ``origin[,topic]`` – which client (`stadtruf.core.origin.resolve`), annotation
  (`stadtruf.core.annotation.annotate`): STADTRUF_CLIENT…, CALLERID(name), the inherited header
  variables; STADTRUF_ORIGIN_RULE, STADTRUF_ORIGIN_REASON. A classic dialplan has no town menu:
  an undecided call gets the default client (rule still ``town_menu``), if one is configured.
- ``route,topic`` – where the client's menu sends that topic: STADTRUF_ROUTE (``queue:kfz``,
  ``transfer:0204170350``, ``announce``, as the app sets it), STADTRUF_ROUTE_KIND,
  STADTRUF_ROUTE_TARGET, and the annotation with the topic.
- ``open[,topic]`` – opening hours (`stadtruf.core.hours.status`): STADTRUF_OPEN=1/0,
  STADTRUF_OPEN_UNTIL or STADTRUF_NEXT_OPEN (ISO 8601, Berlin time), STADTRUF_CLOSED_REASON,
  STADTRUF_CLOSED_ACTION (the config's ``when_closed``).

Every answer ends with STADTRUF_AGI_STATUS: ``OK``, or ``ERROR`` with STADTRUF_AGI_ERROR
saying why. Bad input never leaves the call without a defined result: an unreadable field counts
as absent, a missing or unknown client is the default client, an unknown topic is left out
(``route``: the client's main menu default), ``open`` answers 1 (better a person than "closed").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from stadtruf.config import Client, ServiceCenterConfig
from stadtruf.config.model import ClosedTransfer
from stadtruf.config.schedule import schedule_for, when_closed_for
from stadtruf.core import menu
from stadtruf.core.annotation import annotate
from stadtruf.core.hours import BERLIN, Open, status
from stadtruf.core.numbers import normalize
from stadtruf.core.origin import resolve

COMMANDS = ("origin", "route", "open")
NAMED_ARGS = frozenset({"topic", "client", "dialled", "caller", "diversion"})
STATUS = "STADTRUF_AGI_STATUS"
ERROR = "STADTRUF_AGI_ERROR"
# The environment's end is a blank line; more than this is not Asterisk talking.
MAX_ENVIRONMENT_LINES = 200
# One value in a SET VARIABLE line (Asterisk reads at most 2 KiB per command line).
MAX_VALUE = 1000


@dataclass(frozen=True)
class AgiRequest:
    """One FastAGI request, read from the environment; `problems` says what was unusable."""

    command: str
    env: Mapping[str, str]
    topic: str | None = None
    named: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def value(self, name: str, *env_keys: str) -> str | None:
        """The argument `name`, else the first usable of `env_keys` (``unknown`` is absent)."""
        if self.named.get(name):
            return self.named[name]
        for key in env_keys:
            raw = self.env.get(key, "")
            if raw and raw != "unknown" and normalize(raw) is not None:
                return raw
        return None

    @property
    def needs_channel_client(self) -> bool:
        """`route`/`open` without ``client=``: the adapter reads STADTRUF_CLIENT off the
        channel (set by an earlier `origin`)."""
        return self.command in ("route", "open") and not self.named.get("client")


@dataclass(frozen=True)
class Answer:
    variables: tuple[tuple[str, str], ...]  # in the order to set them, STATUS last
    log: tuple[str, ...]  # lines for Asterisk's log (AGI VERBOSE)

    @property
    def ok(self) -> bool:
        return dict(self.variables).get(STATUS) == "OK"


def parse_environment(lines: Iterable[bytes]) -> AgiRequest:
    """The request in `lines` (without the blank line); never raises."""
    env: dict[str, str] = {}
    problems: list[str] = []
    for number, raw in enumerate(lines, 1):
        if number > MAX_ENVIRONMENT_LINES:
            problems.append(f"more than {MAX_ENVIRONMENT_LINES} environment lines")
            break
        text = raw.rstrip(b"\r\n")
        key_bytes, sep, value_bytes = text.partition(b": ")
        if not sep:
            key_bytes, sep, value_bytes = text.partition(b":")  # "agi_arg_2:" with no value
        key = key_bytes.decode("ascii", "replace").strip()
        if not sep or not key.startswith("agi_") or not key.isascii() or not key.isprintable():
            problems.append(f"line {number} is no AGI variable: {_show(text)}")
            continue
        try:
            env[key] = value_bytes.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"{key} is not UTF-8: {_show(value_bytes)} (taken as absent)")
    script = env.get("agi_network_script", "")
    command = script.strip("/").split("?", 1)[0]
    topic: str | None = None
    named: dict[str, str] = {}
    for index in range(1, MAX_ENVIRONMENT_LINES):
        arg = env.get(f"agi_arg_{index}")
        if arg is None:
            break
        arg = arg.strip()
        name, equals, value = arg.partition("=")
        if equals and name in NAMED_ARGS:
            named[name] = value.strip()
        elif equals:
            problems.append(f"unknown argument {name!r} (known: {', '.join(sorted(NAMED_ARGS))})")
        elif arg and topic is None:
            topic = arg
        elif arg:
            problems.append(f"extra argument {arg!r}")
    topic = named.pop("topic", None) or topic
    return AgiRequest(command, env, topic, named, tuple(problems))


def decide(
    cfg: ServiceCenterConfig, request: AgiRequest, now: datetime, channel_client: str | None = None
) -> Answer:
    """The answer to `request`; `channel_client` is STADTRUF_CLIENT read off the channel."""
    problems = list(request.problems)
    variables: list[tuple[str, str]] = []
    log: list[str] = []
    if request.command == "origin":
        _origin(cfg, request, variables, log, problems)
    elif request.command in ("route", "open"):
        client = _client(cfg, request.named.get("client") or channel_client, problems)
        topic = _topic(cfg, request.topic, problems, required=request.command == "route")
        if client is not None and request.command == "route":
            _route(cfg, request, client, topic, variables, log)
        elif client is not None:
            _open(cfg, client, topic, now, variables, log)
        elif request.command == "open":
            variables.append(("STADTRUF_OPEN", "1"))
    elif not request.command:
        problems.append("no command: the AGI URL names none (agi://host:port/origin)")
    else:
        problems.append(f"unknown command {request.command!r} (known: {', '.join(COMMANDS)})")
    variables.append((ERROR, _value("; ".join(problems))))
    variables.append((STATUS, "ERROR" if problems else "OK"))
    log.extend(f"error: {p}" for p in problems)
    prefix = f"stadtruf agi {request.command or '?'}: "
    return Answer(
        tuple((name, _value(value)) for name, value in variables),
        tuple(prefix + line for line in log),
    )


def _origin(
    cfg: ServiceCenterConfig,
    request: AgiRequest,
    variables: list[tuple[str, str]],
    log: list[str],
    problems: list[str],
) -> None:
    decision = resolve(
        cfg,
        dialled=request.value("dialled", "agi_extension", "agi_dnid"),
        caller=request.value("caller", "agi_callerid"),
        diversion=request.value("diversion", "agi_rdnis"),
    )
    client_id = decision.client_id or cfg.service_center.unknown_caller.default_client
    variables += [
        ("STADTRUF_ORIGIN_RULE", str(decision.rule)),
        ("STADTRUF_ORIGIN_REASON", decision.reason),
    ]
    client = cfg.clients.get(client_id) if client_id else None
    topic = _topic(cfg, request.topic, problems, required=False)
    if client is None:
        variables.append(("STADTRUF_CLIENT", ""))
        log.append(f"no client ({decision.rule}): {decision.reason}")
        return
    marks = annotate(
        client, cfg.topic(topic) if topic else None, _caller_name(request), topic_id=topic
    )
    variables += marks.assignments()
    log.append(f"{client.id} ({decision.rule}): {decision.reason}")


def _route(
    cfg: ServiceCenterConfig,
    request: AgiRequest,
    client: Client,
    topic: str | None,
    variables: list[tuple[str, str]],
    log: list[str],
) -> None:
    route = topic_route(client, topic)
    if route is None:
        log.append(f"{client.id}: no route for {topic or 'the main menu'}")
        variables += [("STADTRUF_ROUTE", ""), ("STADTRUF_ROUTE_KIND", "")]
        return
    match route:
        case menu.QueueRoute(topic=queue):
            kind, target, value, topic = "queue", queue, f"queue:{queue}", queue
        case menu.TransferRoute(target=number):
            kind, target, value, topic = "transfer", number, f"transfer:{number}", route.topic
        case menu.AnnounceAndHangup():
            kind, target, value, topic = "announce", "", "announce", route.topic
        case _:
            kind, target, value = "hangup", "", "hangup"
    variables += [
        ("STADTRUF_ROUTE", value),
        ("STADTRUF_ROUTE_KIND", kind),
        ("STADTRUF_ROUTE_TARGET", target),
    ]
    topic_model = cfg.topic(topic) if topic else None
    marks = annotate(client, topic_model, _caller_name(request), topic_id=topic)
    variables += marks.assignments()
    log.append(f"{client.id}: {value}")


def topic_route(client: Client, topic: str | None) -> menu.Route | None:
    """Where `client`'s menu sends a caller about `topic`: the first key for it, start menu
    first; a topic no key names waits in its own queue. Without a topic: the start menu's
    default (what a caller who presses nothing gets)."""
    tree = client.menu
    start = tree.menus.get(tree.start)
    if topic is None:
        return menu.route_of(start.default) if start is not None else None
    order = [tree.start, *(m for m in tree.menus if m != tree.start)]
    for menu_id in order:
        node = tree.menus[menu_id]
        for action in (*node.options.values(), node.default):
            route = menu.route_of(action)
            if _is_for(route, topic):
                return route
    return menu.QueueRoute(topic)


def _is_for(route: menu.Route | None, topic: str) -> bool:
    match route:
        case menu.QueueRoute(topic=queue):
            return queue == topic
        case menu.TransferRoute() | menu.AnnounceAndHangup():
            return route.topic == topic
    return False


def _open(
    cfg: ServiceCenterConfig,
    client: Client,
    topic: str | None,
    now: datetime,
    variables: list[tuple[str, str]],
    log: list[str],
) -> None:
    center = cfg.service_center
    result = status(schedule_for(client, center, topic), now)
    what = f"{client.id}{'/' + topic if topic else ''}"
    if isinstance(result, Open):
        variables += [("STADTRUF_OPEN", "1"), ("STADTRUF_OPEN_UNTIL", _moment(result.until))]
        log.append(f"{what} open until {_moment(result.until) or 'further notice'}")
        return
    client_open = isinstance(status(schedule_for(client, center), now), Open)
    action = when_closed_for(client, center, topic, client_open).action
    closed_action = f"transfer:{action.transfer}" if isinstance(action, ClosedTransfer) else action
    variables += [
        ("STADTRUF_OPEN", "0"),
        ("STADTRUF_NEXT_OPEN", _moment(result.next_open)),
        ("STADTRUF_CLOSED_REASON", result.reason.kind),
        ("STADTRUF_CLOSED_ACTION", closed_action),
    ]
    log.append(f"{what} closed ({result.reason.kind}), opens {_moment(result.next_open) or '?'}")


def _client(cfg: ServiceCenterConfig, client_id: str | None, problems: list[str]) -> Client | None:
    if client_id and client_id in cfg.clients:
        return cfg.clients[client_id]
    default = cfg.service_center.unknown_caller.default_client
    if client_id:
        problems.append(f"unknown client {client_id!r}, taking the default client {default}")
    else:
        problems.append(f"no client (client= or STADTRUF_CLIENT), default client {default}")
    return cfg.clients.get(default) if default else None


def _topic(
    cfg: ServiceCenterConfig, topic: str | None, problems: list[str], *, required: bool
) -> str | None:
    if topic and cfg.topic(topic) is not None:
        return topic
    if topic:
        problems.append(f"unknown topic {topic!r}")
    elif required:
        problems.append("no topic given")
    return None


def _caller_name(request: AgiRequest) -> str | None:
    name = request.env.get("agi_calleridname")
    return None if name in (None, "unknown") else name


def _moment(moment: datetime | None) -> str:
    return moment.astimezone(BERLIN).isoformat() if moment is not None else ""


def _value(text: str) -> str:
    return " ".join(text.split())[:MAX_VALUE]  # one line: a newline would end the AGI command


def _show(raw: bytes) -> str:
    return repr(raw[:60])[2:-1]
