"""`knowledge:` in a client's file: the links an agent sees for a call's topic.

Keyed by topic id (as in service-center.yaml) or by a LeiKa service key (14 digits, the key a
topic names in `leika:`). The agent's screen shows the topic's links, then those of its LeiKa
key. Field descriptions are for the admin's editor, in German.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from stadtruf.config.fields import Frozen, FrozenMap, OfficeNumber, _checked, _identifier, _leika
from stadtruf.config.problems import Problem
from stadtruf.config.yamlsource import Source


def _url(value: str) -> str | None:
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _key(value: str) -> str | None:
    return value if _identifier(value) is not None or _leika(value) is not None else None


def _freeze(
    value: dict[str, tuple[KnowledgeLink, ...]],
) -> FrozenMap[str, tuple[KnowledgeLink, ...]]:
    return FrozenMap(value)


class KnowledgeLink(Frozen):
    title: str = Field(
        min_length=1, max_length=80, description="Text des Links, z. B. Kfz-Zulassung in Bottrop"
    )
    url: Annotated[str, _checked(_url, "'{value}' ist keine Adresse mit http:// oder https://")] = (
        Field(description="Seite der Stadt, Dienstleistungsbeschreibung, Telefonbuch")
    )
    phone: OfficeNumber | None = Field(
        default=None, description="Telefonnummer des Amts, wird neben dem Link angezeigt"
    )


KnowledgeKey = Annotated[
    str,
    _checked(_key, "'{value}' ist weder ein Thema noch ein LeiKa-Schlüssel (14 Ziffern)"),
]
Knowledge = Annotated[dict[KnowledgeKey, tuple[KnowledgeLink, ...]], AfterValidator(_freeze)]
KNOWLEDGE_DESCRIPTION = (
    "Wissen für den Agenten je Thema (oder LeiKa-Schlüssel): Links auf die Seiten der Stadt, "
    "Dienstleistungsbeschreibungen, Telefonbuch des Amts"
)


def links_for(
    knowledge: Mapping[str, Sequence[KnowledgeLink]], topic: str | None, leika: str | None
) -> list[KnowledgeLink]:
    """The links of `topic`, then those of its LeiKa key (each once)."""
    links: list[KnowledgeLink] = []
    for key in (topic, leika):
        if key is None:
            continue
        links.extend(link for link in knowledge.get(key, ()) if link not in links)
    return links


def check_knowledge(
    src: Source, knowledge: Mapping[str, object], topics: Mapping[str, object]
) -> Iterator[Problem]:
    """Every key must name a topic of service-center.yaml (a LeiKa key any service)."""
    for key in knowledge:
        if _leika(key) is None and key not in topics:
            yield src.problem(
                ("knowledge", key),
                f"Thema '{key}' gibt es nicht unter topics in service-center.yaml "
                f"({', '.join(sorted(topics))})",
                key=True,
            )
