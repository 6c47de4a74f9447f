"""What the queue says, and that every sentence it can say is rendered before it is needed."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stadtruf.config import load_site
from stadtruf.config.agents import AgentsConfig, OverflowAnnounce, QueueSettings
from stadtruf.config.load import ServiceCenterConfig
from stadtruf.config.model import Prompt
from stadtruf.core.prompts import SpokenText
from stadtruf.core.queue_prompts import (
    MAX_AHEAD,
    MAX_MINUTES,
    callback_confirmed,
    callback_hint,
    callback_offer,
    callback_unavailable,
    entry_announcement,
    position_announcement,
    queue_texts,
    voicemail_prompt,
    voicemail_saved,
    whisper,
)
from stadtruf.paths import sample_config_dir


@functools.cache
def _sample() -> tuple[ServiceCenterConfig, AgentsConfig]:
    site = load_site(sample_config_dir())
    assert site.agents is not None
    return site.config, site.agents


@functools.cache
def _sample_texts() -> frozenset[SpokenText]:
    return frozenset(queue_texts(*_sample()))


def _texts(spoken: tuple[SpokenText, ...]) -> list[str]:
    return [s.text for s in spoken]


DE_WAIT = "Die voraussichtliche Wartezeit beträgt"
EN_WAIT = "The expected wait is"


@pytest.mark.parametrize(
    ("position", "wait", "expected"),
    [
        (1, None, ["Sie sind als Nächstes an der Reihe."]),
        (2, None, ["Vor Ihnen wartet noch eine Person."]),
        (3, None, ["Vor Ihnen warten noch 2 Anrufende."]),
        (21, None, ["Vor Ihnen warten noch 20 Anrufende."]),
        (22, None, ["Vor Ihnen warten noch mehr als 20 Anrufende."]),
        (500, None, ["Vor Ihnen warten noch mehr als 20 Anrufende."]),
        (1, 0, ["Sie sind als Nächstes an der Reihe.", f"{DE_WAIT} weniger als eine Minute."]),
        (3, 59, ["Vor Ihnen warten noch 2 Anrufende.", f"{DE_WAIT} weniger als eine Minute."]),
        (3, 60, ["Vor Ihnen warten noch 2 Anrufende.", f"{DE_WAIT} etwa eine Minute."]),
        (3, 61, ["Vor Ihnen warten noch 2 Anrufende.", f"{DE_WAIT} etwa 2 Minuten."]),
        (3, 180, ["Vor Ihnen warten noch 2 Anrufende.", f"{DE_WAIT} etwa 3 Minuten."]),
        (3, 1800, ["Vor Ihnen warten noch 2 Anrufende.", f"{DE_WAIT} etwa 30 Minuten."]),
        (3, 1801, ["Vor Ihnen warten noch 2 Anrufende.", f"{DE_WAIT} mehr als 30 Minuten."]),
        (3, 86400, ["Vor Ihnen warten noch 2 Anrufende.", f"{DE_WAIT} mehr als 30 Minuten."]),
    ],
)
def test_position_announcement_in_german(
    position: int, wait: int | None, expected: list[str]
) -> None:
    spoken = position_announcement(position, wait, "de")
    assert _texts(spoken) == expected
    assert {s.language for s in spoken} == {"de"}


@pytest.mark.parametrize(
    ("position", "wait", "expected"),
    [
        (1, None, ["You are next in line."]),
        (2, None, ["There is one caller ahead of you."]),
        (3, None, ["There are 2 callers ahead of you."]),
        (21, None, ["There are 20 callers ahead of you."]),
        (22, None, ["There are more than 20 callers ahead of you."]),
        (1, 0, ["You are next in line.", f"{EN_WAIT} less than a minute."]),
        (3, 59, ["There are 2 callers ahead of you.", f"{EN_WAIT} less than a minute."]),
        (3, 60, ["There are 2 callers ahead of you.", f"{EN_WAIT} about one minute."]),
        (3, 61, ["There are 2 callers ahead of you.", f"{EN_WAIT} about 2 minutes."]),
        (3, 1800, ["There are 2 callers ahead of you.", f"{EN_WAIT} about 30 minutes."]),
        (3, 1801, ["There are 2 callers ahead of you.", f"{EN_WAIT} more than 30 minutes."]),
    ],
)
def test_position_announcement_in_english(
    position: int, wait: int | None, expected: list[str]
) -> None:
    spoken = position_announcement(position, wait, "en")
    assert _texts(spoken) == expected
    assert {s.language for s in spoken} == {"en"}


def test_a_position_below_one_is_a_bug_of_the_caller() -> None:
    with pytest.raises(ValueError):
        position_announcement(0, None, "de")


def test_a_negative_wait_is_said_as_under_a_minute() -> None:
    assert position_announcement(1, -5, "de") == position_announcement(1, 0, "de")


def test_an_unknown_language_gets_the_german_sentence_with_the_german_voice() -> None:
    assert position_announcement(3, 61, "tr") == position_announcement(3, 61, "de")
    assert whisper(None, None, "tr") == whisper(None, None, "de")
    assert callback_offer("tr") == callback_offer("de")


@pytest.mark.parametrize(
    ("client", "topic", "expected"),
    [
        ("Bottrop", "Kfz-Zulassung", ["Bottrop", "Kfz-Zulassung"]),
        ("Bottrop", None, ["Bottrop"]),
        (None, "Kfz-Zulassung", ["Unbekannter Ort", "Kfz-Zulassung"]),
        (None, None, ["Unbekannter Ort"]),
        ("", "", ["Unbekannter Ort"]),
        ("  ", "Abfall", ["Unbekannter Ort", "Abfall"]),
    ],
)
def test_whisper(client: str | None, topic: str | None, expected: list[str]) -> None:
    spoken = whisper(client, topic, "de")
    assert _texts(spoken) == expected
    assert {s.language for s in spoken} == {"de"}


def test_whisper_unknown_town_in_english() -> None:
    assert _texts(whisper(None, None, "en")) == ["Unknown town"]


FIXED = [
    entry_announcement,
    callback_hint,
    callback_offer,
    callback_confirmed,
    callback_unavailable,
    voicemail_prompt,
    voicemail_saved,
]


@pytest.mark.parametrize("language", ["de", "en"])
def test_fixed_sentences_exist_per_language_and_differ(language: str) -> None:
    said = [fixed(language) for fixed in FIXED]
    assert all(len(s) == 1 and s[0].text and s[0].language == language for s in said)
    assert len({s[0].text for s in said}) == len(FIXED)


def test_fixed_sentences_in_german() -> None:
    assert _texts(entry_announcement("de")) == [
        "Alle Mitarbeitenden sind im Gespräch. Bitte haben Sie einen Moment Geduld."
    ]
    assert _texts(callback_hint("de")) == ["Wenn Sie einen Rückruf wünschen, drücken Sie die 1."]


def test_german_and_english_differ() -> None:
    for fixed in FIXED:
        assert fixed("de")[0].text != fixed("en")[0].text


# --- Everything the queue says is in queue_texts ---------------------------------------------


# No deadline: the first example loads the sample config (cached after), and a slow first
# example would make hypothesis report unreliable timings rather than a real failure.
@settings(deadline=None)
@given(
    position=st.integers(min_value=1, max_value=10_000),
    wait=st.none() | st.integers(min_value=0, max_value=10**7),
    language=st.sampled_from(["de", "en"]),
)
def test_every_announcement_is_rendered_in_advance(
    position: int, wait: int | None, language: str
) -> None:
    assert set(position_announcement(position, wait, language)) <= _sample_texts()


def test_the_boundaries_are_rendered_in_advance() -> None:
    # The edges hypothesis might not hit on a given run.
    texts = _sample_texts()
    for language in ("de", "en"):
        for position in (1, 2, 3, MAX_AHEAD, MAX_AHEAD + 1, MAX_AHEAD + 2):
            for minutes in range(MAX_MINUTES + 2):
                for wait in (minutes * 60 - 1, minutes * 60, minutes * 60 + 1):
                    if wait >= 0:
                        assert set(position_announcement(position, wait, language)) <= texts


def test_every_fixed_sentence_and_whisper_is_rendered_in_advance() -> None:
    config, _ = _sample()
    texts = _sample_texts()
    languages = {config.service_center.default_language}
    languages.update(lang for c in config.clients.values() for lang in c.languages)
    assert languages == {"de", "en"}
    for language in languages:
        for fixed in FIXED:
            assert set(fixed(language)) <= texts
    agents_language = config.service_center.default_language
    for client_name in (None, *(c.name for c in config.clients.values())):
        for topic in (None, *config.service_center.topics.values()):
            topic_name = topic.name if topic else None
            assert set(whisper(client_name, topic_name, agents_language)) <= texts


def test_the_overflow_announcement_of_the_sample_is_rendered_in_every_language() -> None:
    text = "Leider sind alle Leitungen belegt. Bitte rufen Sie später wieder an."
    texts = _sample_texts()
    assert SpokenText(text, "de") in texts
    assert SpokenText(text, "en") in texts  # one text for all languages: better than silence


def test_overflow_prompts_per_language_and_recordings_skipped() -> None:
    config, _ = _sample()
    agents = AgentsConfig(
        defaults=QueueSettings(
            max_wait=60,
            overflow=OverflowAnnounce(announce=Prompt(text={"de": "Tschüss", "en": "Bye"})),
        ),
        queues={
            "kfz": QueueSettings(
                overflow=OverflowAnnounce(announce=Prompt(sound="kfz/voll", text="Voll"))
            )
        },
    )
    texts = set(queue_texts(config, agents))
    assert SpokenText("Tschüss", "de") in texts
    assert SpokenText("Bye", "en") in texts
    assert not any(s.text == "Voll" for s in texts)


def test_without_agents_the_fixed_sentences_are_still_there() -> None:
    config, _ = _sample()
    texts = set(queue_texts(config, None))
    assert set(entry_announcement("de")) <= texts
    assert not any(s.text.startswith("Leider sind alle Leitungen") for s in texts)


def test_the_set_stays_small() -> None:
    # 2 languages × (22 position + 32 wait + 7 fixed) + overflow + whisper names.
    config, _ = _sample()
    names = len(config.clients) + len(config.service_center.topics) + 1
    assert len(_sample_texts()) <= 2 * (22 + 32 + 7 + 1) + names
    assert all(s.text.strip() for s in _sample_texts())
