"""Configuration of one service center: its clients, numbers, topics and menus.

`load(directory)` returns a complete, immutable `ServiceCenterConfig` or raises `ConfigError`,
whose `.problems` say `file:line:col: what is wrong` for the admin. See docs/config.md.
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
    "SubmenuAction",
    "Topic",
    "TransferAction",
    "UnknownCaller",
    "load",
]
