"""Configuration of one service center: its clients, numbers, topics and menus, and its agents.

`load_site(directory)` returns the checked config directory as a `Site`: a complete, immutable
`ServiceCenterConfig` and the agents file (if any), or raises `ConfigError`, whose `.problems`
say `file:line:col: what is wrong` for the admin. See docs/config.md. (`load(directory)` reads
the clients' config alone, for tools that have no use for agents.)
"""

from stadtruf.config.load import SERVICE_CENTER_FILE, ServiceCenterConfig, load
from stadtruf.config.model import (
    ASK,
    Action,
    AnnounceAction,
    BackAction,
    Client,
    ClientAction,
    HangupAction,
    LanguageAction,
    MenuNode,
    MenuTree,
    Prompt,
    QueueAction,
    RepeatAction,
    ServiceCenter,
    SubmenuAction,
    Topic,
    TransferAction,
    UnknownCaller,
)
from stadtruf.config.problems import ConfigError, Problem
from stadtruf.config.site import Site, load_site

__all__ = [
    "ASK",
    "SERVICE_CENTER_FILE",
    "Action",
    "AnnounceAction",
    "BackAction",
    "Client",
    "ClientAction",
    "ConfigError",
    "HangupAction",
    "LanguageAction",
    "MenuNode",
    "MenuTree",
    "Problem",
    "Prompt",
    "QueueAction",
    "RepeatAction",
    "ServiceCenter",
    "ServiceCenterConfig",
    "Site",
    "SubmenuAction",
    "Topic",
    "TransferAction",
    "UnknownCaller",
    "load",
    "load_site",
]
