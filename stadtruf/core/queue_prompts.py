"""What the queue says, as texts for speech synthesis: position, wait, whisper, callback.

Pure. Asterisk can only play a text once `stadtruf.tts` has rendered it, and rendering takes
a moment per sentence, so nothing here is rendered on demand: every sentence comes from a
small, bounded set that `queue_texts` lists in full and that is rendered in advance.

To keep that set small,

- every sentence is its own `SpokenText` ("Vor Ihnen warten noch 2 Anrufende." and "Die
  voraussichtliche Wartezeit beträgt etwa 3 Minuten." are rendered once each, not once per
  combination);
- numbers are bounded: more than `MAX_AHEAD` callers ahead or more than `MAX_MINUTES` minutes
  are said as "mehr als …";
- the whisper is the client's name and then the topic's name, rendered per client and per
  topic, not per pair.

German and English texts are built in; any other language gets the German sentence, rendered
with the German voice (a German voice reading German beats another voice mangling it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from stadtruf.config.agents import AgentsConfig, OverflowAnnounce
from stadtruf.config.load import ServiceCenterConfig
from stadtruf.core.prompts import SpokenText

# Beyond these, the caller gets "more than …": exact numbers there help nobody, and the
# bound keeps the set of sentences small enough to render before any call.
MAX_AHEAD = 20
MAX_MINUTES = 30
FALLBACK_LANGUAGE = "de"


@dataclass(frozen=True)
class _Phrases:
    next_in_line: str
    one_ahead: str
    many_ahead: str  # {count}
    more_ahead: str  # {count}
    wait_under_a_minute: str
    wait_one_minute: str
    wait_minutes: str  # {count}
    wait_more: str  # {count}
    unknown_town: str
    entry: str
    callback_hint: str
    callback_offer: str
    callback_confirmed: str
    callback_unavailable: str
    voicemail_prompt: str
    voicemail_saved: str


_PHRASES: dict[str, _Phrases] = {
    "de": _Phrases(
        next_in_line="Sie sind als Nächstes an der Reihe.",
        # "Anrufende" has no good neutral singular; "eine Person" says the same naturally.
        one_ahead="Vor Ihnen wartet noch eine Person.",
        many_ahead="Vor Ihnen warten noch {count} Anrufende.",
        more_ahead="Vor Ihnen warten noch mehr als {count} Anrufende.",
        wait_under_a_minute="Die voraussichtliche Wartezeit beträgt weniger als eine Minute.",
        # Spelled out: espeak-ng reads "1 Minute" as "eins Minute".
        wait_one_minute="Die voraussichtliche Wartezeit beträgt etwa eine Minute.",
        wait_minutes="Die voraussichtliche Wartezeit beträgt etwa {count} Minuten.",
        wait_more="Die voraussichtliche Wartezeit beträgt mehr als {count} Minuten.",
        unknown_town="Unbekannter Ort",
        entry="Alle Mitarbeitenden sind im Gespräch. Bitte haben Sie einen Moment Geduld.",
        callback_hint="Wenn Sie einen Rückruf wünschen, drücken Sie die 1.",
        callback_offer=(
            "Leider ist gerade niemand frei. Wir rufen Sie gern zurück. "
            "Bitte drücken Sie dazu die 1."
        ),
        callback_confirmed=(
            "Vielen Dank. Wir rufen Sie so bald wie möglich unter Ihrer Rufnummer zurück."
        ),
        callback_unavailable=(
            "Leider wird Ihre Rufnummer nicht übermittelt. "
            "Deshalb können wir Sie nicht zurückrufen."
        ),
        voicemail_prompt=(
            "Leider ist gerade niemand erreichbar. Bitte sprechen Sie nach dem Signalton "
            "Ihr Anliegen, Ihren Namen und Ihre Rufnummer. "
            "Zum Beenden legen Sie auf oder drücken die Rautetaste."
        ),
        voicemail_saved="Vielen Dank. Ihre Nachricht ist angekommen. Auf Wiederhören.",
    ),
    "en": _Phrases(
        next_in_line="You are next in line.",
        one_ahead="There is one caller ahead of you.",
        many_ahead="There are {count} callers ahead of you.",
        more_ahead="There are more than {count} callers ahead of you.",
        wait_under_a_minute="The expected wait is less than a minute.",
        wait_one_minute="The expected wait is about one minute.",
        wait_minutes="The expected wait is about {count} minutes.",
        wait_more="The expected wait is more than {count} minutes.",
        unknown_town="Unknown town",
        entry="All our staff are busy at the moment. Please hold the line.",
        callback_hint="If you would like us to call you back, press 1.",
        callback_offer=(
            "Sorry, nobody is free at the moment. We are happy to call you back. Please press 1."
        ),
        callback_confirmed="Thank you. We will call you back on your number as soon as possible.",
        callback_unavailable=(
            "Sorry, your phone number was not transmitted, so we cannot call you back."
        ),
        voicemail_prompt=(
            "Sorry, nobody is available at the moment. After the tone, please leave your "
            "request, your name and your phone number. To finish, hang up or press the "
            "hash key."
        ),
        voicemail_saved="Thank you. We have received your message. Goodbye.",
    ),
}


def _phrases(language: str) -> tuple[_Phrases, str]:
    """The phrases for `language` and the language they are in (the fallback's, if unknown)."""
    if language in _PHRASES:
        return _PHRASES[language], language
    return _PHRASES[FALLBACK_LANGUAGE], FALLBACK_LANGUAGE


def _spoken(text: str, language: str) -> tuple[SpokenText, ...]:
    return (SpokenText(text, language),)


# --- Position and expected wait ------------------------------------------------------------


def _ahead_bucket(position: int) -> int:
    """Callers ahead, capped at MAX_AHEAD + 1 (which stands for "more than MAX_AHEAD")."""
    return min(position - 1, MAX_AHEAD + 1)


def _minutes_bucket(expected_wait_s: int) -> int:
    """0: under a minute; 1..MAX_MINUTES: whole minutes rounded up; MAX_MINUTES + 1: more.

    Rounded up like `service_level.whole_seconds`: a caller is not promised less than we
    expect. Under 60 s (including 0, when an agent is about to be free) is "less than a
    minute" rather than "about one minute", which is what a caller would take it to mean.
    """
    if expected_wait_s < 60:
        return 0
    return min(math.ceil(expected_wait_s / 60), MAX_MINUTES + 1)


def _position_sentence(ahead: int, language: str) -> SpokenText:
    phrases, spoken_in = _phrases(language)
    if ahead <= 0:
        text = phrases.next_in_line
    elif ahead == 1:
        text = phrases.one_ahead
    elif ahead <= MAX_AHEAD:
        text = phrases.many_ahead.format(count=ahead)
    else:
        text = phrases.more_ahead.format(count=MAX_AHEAD)
    return SpokenText(text, spoken_in)


def _wait_sentence(minutes: int, language: str) -> SpokenText:
    phrases, spoken_in = _phrases(language)
    if minutes <= 0:
        text = phrases.wait_under_a_minute
    elif minutes == 1:
        text = phrases.wait_one_minute
    elif minutes <= MAX_MINUTES:
        text = phrases.wait_minutes.format(count=minutes)
    else:
        text = phrases.wait_more.format(count=MAX_MINUTES)
    return SpokenText(text, spoken_in)


def position_announcement(
    position: int, expected_wait_s: int | None, language: str
) -> tuple[SpokenText, ...]:
    """What `AnnounceToCaller(position, expected_wait_s)` says: place in line, then the wait.

    `position` 1 is next; `expected_wait_s` None says nothing about time. A negative wait is
    read as 0 (the estimate cannot be below zero; a caller must not hear silence for a bug).
    Raises ValueError for a position below 1: the queue engine never emits one.
    """
    if position < 1:
        raise ValueError(f"position must be 1 or more, not {position}")
    sentences = [_position_sentence(_ahead_bucket(position), language)]
    if expected_wait_s is not None:
        sentences.append(_wait_sentence(_minutes_bucket(max(0, expected_wait_s)), language))
    return tuple(sentences)


# --- Whisper to the agent --------------------------------------------------------------------


def whisper(
    client_name: str | None, topic_name: str | None, language: str
) -> tuple[SpokenText, ...]:
    """What the agent hears before the caller is put through: client, then topic.

    Two texts, so each client's and each topic's name is rendered once, not once per pair.
    Without a client (a caller sent straight to a queue, town unknown) the agent hears
    "Unbekannter Ort"; without a topic only the client. Empty names count as missing (an
    empty text cannot be rendered).
    """
    if client_name and client_name.strip():
        first = SpokenText(client_name, language)
    else:
        phrases, spoken_in = _phrases(language)
        first = SpokenText(phrases.unknown_town, spoken_in)
    if topic_name and topic_name.strip():
        return (first, SpokenText(topic_name, language))
    return (first,)


# --- Fixed sentences -------------------------------------------------------------------------


def entry_announcement(language: str) -> tuple[SpokenText, ...]:
    """On joining the queue when no agent is rung at once."""
    phrases, spoken_in = _phrases(language)
    return _spoken(phrases.entry, spoken_in)


def callback_hint(language: str) -> tuple[SpokenText, ...]:
    """Appended to the periodic announcement in queues whose overflow is a callback."""
    phrases, spoken_in = _phrases(language)
    return _spoken(phrases.callback_hint, spoken_in)


def callback_offer(language: str) -> tuple[SpokenText, ...]:
    """When max_wait is reached in a queue whose overflow is `{callback: true}`."""
    phrases, spoken_in = _phrases(language)
    return _spoken(phrases.callback_offer, spoken_in)


def callback_confirmed(language: str) -> tuple[SpokenText, ...]:
    """After the caller asked for a callback and their number is known."""
    phrases, spoken_in = _phrases(language)
    return _spoken(phrases.callback_confirmed, spoken_in)


def callback_unavailable(language: str) -> tuple[SpokenText, ...]:
    """The caller asked for a callback, but no number came with the call.

    Says only why; what follows (keep waiting, hang up) is the adapter's to add.
    """
    phrases, spoken_in = _phrases(language)
    return _spoken(phrases.callback_unavailable, spoken_in)


def voicemail_prompt(language: str) -> tuple[SpokenText, ...]:
    """Before recording, in queues whose overflow is `{voicemail: true}`; a beep follows."""
    phrases, spoken_in = _phrases(language)
    return _spoken(phrases.voicemail_prompt, spoken_in)


def voicemail_saved(language: str) -> tuple[SpokenText, ...]:
    """After the caller ended the message with # (a caller who hung up hears nothing)."""
    phrases, spoken_in = _phrases(language)
    return _spoken(phrases.voicemail_saved, spoken_in)


_FIXED = (
    entry_announcement,
    callback_hint,
    callback_offer,
    callback_confirmed,
    callback_unavailable,
    voicemail_prompt,
    voicemail_saved,
)


# --- Everything, for rendering in advance ----------------------------------------------------


def _languages(config: ServiceCenterConfig) -> list[str]:
    center = config.service_center
    found = {center.default_language}
    for client in config.clients.values():
        found.update(client.languages)
    return sorted(found)  # sorted: the same order on every run, for logs and tests


def queue_texts(config: ServiceCenterConfig, agents: AgentsConfig | None) -> Iterator[SpokenText]:
    """Every text the queue may play, in every language a caller may have; may repeat a text
    (`tts.render_all` renders each distinct one once).

    Callers: position and wait sentences, entry and callback texts, and the `announce`
    overflow prompts of `agents` (texts only: a prompt with a `sound` is a recording).
    Agents: the whisper names, in the service center's default language (the agents').
    """
    for language in _languages(config):
        for ahead in range(MAX_AHEAD + 2):
            yield _position_sentence(ahead, language)
        for minutes in range(MAX_MINUTES + 2):
            yield _wait_sentence(minutes, language)
        for fixed in _FIXED:
            yield from fixed(language)
        if agents is not None:
            yield from _overflow_announcements(agents, language)

    agents_language = config.service_center.default_language
    yield from whisper(None, None, agents_language)
    for client in config.clients.values():
        yield from whisper(client.name, None, agents_language)
    for topic in config.service_center.topics.values():
        yield SpokenText(topic.name, agents_language)


def _overflow_announcements(agents: AgentsConfig, language: str) -> Iterator[SpokenText]:
    # A queue's rules take overflow from the queue, else from defaults: both layers together
    # hold every overflow a queue can have.
    for settings in (agents.defaults, *agents.queues.values()):
        overflow = settings.overflow
        if not isinstance(overflow, OverflowAnnounce) or overflow.announce.sound:
            continue
        text = overflow.announce.text_for(language)
        if text:
            yield SpokenText(text, language)


__all__ = [
    "FALLBACK_LANGUAGE",
    "MAX_AHEAD",
    "MAX_MINUTES",
    "callback_confirmed",
    "callback_hint",
    "callback_offer",
    "callback_unavailable",
    "entry_announcement",
    "position_announcement",
    "queue_texts",
    "voicemail_prompt",
    "voicemail_saved",
    "whisper",
]
