"""The shape of the configuration files, as frozen pydantic models.

Two kinds of file: `service-center.yaml` (`ServiceCenter`) and one file per client (`Client`).
The models check what one file can check on its own; what needs several files (targets,
numbers claimed twice, menus without exit) is in `checks.py`. Field descriptions end up in the
JSON Schema, where the admin's editor shows them, so they are written for the admin, in German.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from stadtruf.config.api import ApiConfig
from stadtruf.config.capacity import Capacity
from stadtruf.config.fields import (  # noqa: F401 - re-exported: the model's vocabulary
    AreaCode,
    DigitKey,
    FederalState,
    Frozen,
    FrozenMap,
    Identifier,
    K,
    Language,
    OfficeNumber,
    ServiceNumber,
    SoundName,
    SwitchboardNumber,
    TransferTarget,
    V,
    _area_code,
    _checked,
    _freeze,
    _identifier,
    _language,
    _leika,
    _office_number,
    _service_number,
    _sound,
    _switchboard,
    _tag,
    _transfer_target,
)
from stadtruf.config.hours import HoursConfig
from stadtruf.config.knowledge import KNOWLEDGE_DESCRIPTION, Knowledge
from stadtruf.config.reporting import Billing, ServiceLevelSettings, ServiceLevelTarget
from stadtruf.config.security import Privacy, SipBans
from stadtruf.core.record import CallerNumberStorage

# Used when neither the menu, the client nor the service center says otherwise.
BUILTIN_TIMEOUT = 5.0
BUILTIN_RETRIES = 2


class Prompt(Frozen):
    """What the caller hears: a sound file, a text (for speech synthesis), or both."""

    sound: SoundName | None = None
    text: str | Annotated[Mapping[Language, str], AfterValidator(_freeze)] | None = Field(
        default=None,
        description="Ansagetext; ein Text in der Sprache des Kunden oder je Sprache {de: …, en: …}",
    )

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        # The editor must accept the string shorthand too.
        return {"anyOf": [{"type": "string", "description": "Ansagetext"}, handler(core_schema)]}

    @model_validator(mode="before")
    @classmethod
    def _text_shorthand(cls, value: Any) -> Any:
        # `prompt: "Willkommen …"` is the common case; spare the admin the `text:` level.
        return {"text": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _not_empty(self) -> Prompt:
        if self.sound is None and not self.text:
            raise ValueError("Ansage braucht 'sound' oder 'text'")
        return self

    def text_for(self, language: str) -> str | None:
        """The text in `language`, else the first one given (better than silence)."""
        if self.text is None or isinstance(self.text, str):
            return self.text
        return self.text.get(language) or next(iter(self.text.values()), None)


# --- Actions: what a key (or running out of retries) does ------------------------------------


class SubmenuAction(Frozen):
    submenu: Identifier = Field(description="Name des Untermenüs")


class LanguageAction(Frozen):
    language: Language = Field(description="Sprache ab jetzt, z. B. en")
    submenu: Identifier = Field(description="Menü, das danach gespielt wird")


class QueueAction(Frozen):
    queue: Identifier = Field(description="Thema (aus topics der Servicecenter-Datei)")
    prompt: Prompt | None = Field(default=None, description="Ansage vor dem Einreihen")


class TransferAction(Frozen):
    transfer: TransferTarget = Field(description="Rufnummer oder Endpunkt, z. B. PJSIP/wbd")
    topic: Identifier | None = Field(default=None, description="Thema für die Kennzeichnung")
    prompt: Prompt | None = Field(default=None, description="Ansage vor dem Weiterleiten")


class AnnounceAction(Frozen):
    announce: Prompt = Field(description="Ansage, danach wird aufgelegt")
    topic: Identifier | None = None


class ClientAction(Frozen):
    client: Identifier = Field(description="Kunde (nur im Stadtauswahl-Menü)")


class BackAction(Frozen):
    pass


class RepeatAction(Frozen):
    pass


class HangupAction(Frozen):
    pass


WordAction = BackAction | RepeatAction | HangupAction
_WORDS: dict[str, WordAction] = {
    "back": BackAction(),
    "repeat": RepeatAction(),
    "hangup": HangupAction(),
}


def _word_action(value: object) -> WordAction:
    """`back`, `repeat`, `hangup` as written in YAML, or the action itself (built in code)."""
    if isinstance(value, BackAction | RepeatAction | HangupAction):
        return value
    if isinstance(value, str) and value in _WORDS:
        return _WORDS[value]
    raise PydanticCustomError(
        "literal_error", "Input should be {expected}", {"expected": "'back', 'repeat' or 'hangup'"}
    )


_ACTION_KEYS = ("language", "submenu", "queue", "transfer", "announce", "client")
_TAG = "action:"  # prefix keeps union tags apart from real keys in error locations


def _action_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return _TAG + "word" if value in _WORDS else None
    if isinstance(value, dict):
        return next((_TAG + key for key in _ACTION_KEYS if key in value), None)
    if isinstance(value, BaseModel):
        for key, model in _BY_KEY.items():
            if isinstance(value, model):
                return _TAG + key
        return _TAG + "word"
    return None


_BY_KEY: dict[str, type[Frozen]] = {
    "language": LanguageAction,
    "submenu": SubmenuAction,
    "queue": QueueAction,
    "transfer": TransferAction,
    "announce": AnnounceAction,
    "client": ClientAction,
}

Action = (
    SubmenuAction
    | LanguageAction
    | QueueAction
    | TransferAction
    | AnnounceAction
    | ClientAction
    | BackAction
    | RepeatAction
    | HangupAction
)
TERMINAL_ACTIONS = (QueueAction, TransferAction, AnnounceAction, HangupAction, ClientAction)

ACTION_HELP = (
    "keine Aktion erkannt: erwartet submenu, queue, transfer, announce, language "
    "oder eines der Wörter back, repeat, hangup"
)

ActionField = Annotated[
    Annotated[SubmenuAction, Tag(_TAG + "submenu")]
    | Annotated[LanguageAction, Tag(_TAG + "language")]
    | Annotated[QueueAction, Tag(_TAG + "queue")]
    | Annotated[TransferAction, Tag(_TAG + "transfer")]
    | Annotated[AnnounceAction, Tag(_TAG + "announce")]
    | Annotated[ClientAction, Tag(_TAG + "client")]
    | Annotated[
        BackAction | RepeatAction | HangupAction,
        PlainValidator(_word_action),
        # The admin writes the bare word; the editor must offer exactly these.
        WithJsonSchema({"enum": list(_WORDS), "type": "string"}),
        Tag(_TAG + "word"),
    ],
    Discriminator(_action_tag, custom_error_type="action", custom_error_message=ACTION_HELP),
]


# --- Menus ---------------------------------------------------------------------------------


class MenuDefaults(Frozen):
    """Values a menu takes when it does not set them itself."""

    timeout: Annotated[float, Field(gt=0, le=120)] | None = Field(
        default=None, description="Sekunden Warten auf eine Taste nach der Ansage"
    )
    retries: Annotated[int, Field(ge=0, le=9)] | None = Field(
        default=None, description="Wie oft nach falscher oder fehlender Eingabe wiederholt wird"
    )
    invalid_prompt: Prompt | None = Field(default=None, description="Ansage bei falscher Taste")
    timeout_prompt: Prompt | None = Field(default=None, description="Ansage, wenn nichts kommt")
    default: ActionField | None = Field(
        default=None, description="Was geschieht, wenn die Wiederholungen aufgebraucht sind"
    )


class MenuNode(MenuDefaults):
    """One menu: a prompt, then one key from the caller."""

    prompt: Prompt
    options: Annotated[Mapping[DigitKey, ActionField], AfterValidator(_freeze)] = Field(
        default_factory=FrozenMap,
        description='Aktion je Taste; Tasten * und # in Anführungszeichen: "*", "#"',
    )
    barge_in: bool = Field(default=True, description="Eine Taste unterbricht die Ansage")


class MenuTree(Frozen):
    """A client's menus, by name; the call starts in `start`."""

    start: Identifier = "main"
    menus: Annotated[Mapping[Identifier, MenuNode], AfterValidator(_freeze)] = Field(min_length=1)


# --- Outside the opening hours (see hours.py for the hours themselves) ----------------------


class ClosedTransfer(Frozen):
    transfer: TransferTarget = Field(description="Rufnummer oder Endpunkt, z. B. '0203 283-0'")


class WhenClosed(Frozen):
    """What a caller gets outside the hours: the closed announcement, then `action`."""

    prompt: Prompt | None = Field(
        default=None,
        description="Eigener erster Satz statt 'Sie rufen außerhalb unserer Servicezeiten an.'; "
        "der Satz, wann wir wieder da sind, folgt immer",
    )
    action: Annotated[
        Annotated[Literal["hangup", "voicemail", "callback"], Tag(_TAG + "word")]
        | Annotated[ClosedTransfer, Tag(_TAG + "transfer")],
        Discriminator(lambda v: _TAG + ("word" if isinstance(v, str) else "transfer")),
    ] = Field(
        default="hangup",
        description="Danach: hangup (auflegen), voicemail (Nachricht in die Rückrufliste), "
        "callback (Rückrufwunsch) oder {transfer: Rufnummer}",
    )
    topic: Identifier | None = Field(
        default=None, description="Thema für die Rückrufliste (voicemail, callback)"
    )


# --- The two kinds of file ------------------------------------------------------------------


class Client(Frozen):
    """One client of the service center: a town, a district, a Jobcenter, a municipal company."""

    id: Identifier = Field(description="Kurzname, z. B. bottrop")
    name: str = Field(min_length=1, description="Anzeigename, z. B. Stadt Bottrop")
    tag: Annotated[
        str,
        _checked(_tag, "'{value}' taugt nicht als Kürzel: 2–6 Großbuchstaben/Ziffern, z. B. BOT"),
    ] = Field(description="Kürzel für die Anzeige beim Agenten, z. B. BOT")
    state: FederalState = Field(description="Bundesland (für Feiertage), z. B. NW")
    switchboard_numbers: tuple[SwitchboardNumber, ...] = Field(
        default=(), description="Zentrale Rufnummern des Kunden, z. B. '02041 70-0'"
    )
    area_codes: tuple[AreaCode, ...] = Field(
        default=(), description="Vorwahlen, deren 115-Anrufe zu diesem Kunden gehören"
    )
    languages: tuple[Language, ...] = Field(
        default=("de",), min_length=1, description="Sprachen; die erste ist die Standardsprache"
    )
    greeting: Prompt | None = Field(default=None, description="Begrüßung vor dem Hauptmenü")
    menu_defaults: MenuDefaults = MenuDefaults()
    menu: MenuTree
    # Opening hours (issue 10)
    hours: HoursConfig | None = Field(default=None, description="Öffnungszeiten; ohne: immer")
    topic_hours: Annotated[dict[Identifier, HoursConfig], AfterValidator(_freeze)] = Field(
        default_factory=FrozenMap,
        description="Zeiten einzelner Themen nur für diesen Kunden (statt hours des Themas in "
        "service-center.yaml); engen die Zeiten des Kunden ein",
    )
    when_closed: WhenClosed = Field(
        default=WhenClosed(), description="Was Anrufer außerhalb der Öffnungszeiten erleben"
    )
    # Service level and the bill (issue 10; reporting.py)
    service_level: ServiceLevelTarget | None = Field(
        default=None,
        description="Eigenes Service-Level-Ziel, z. B. {percent: 80, seconds: 30}; "
        "ohne: das Ziel aus service-center.yaml",
    )
    billing: Billing | None = Field(
        default=None, description="Abrechnung je Monat (stadtruf report); ohne: keine Rechnung"
    )
    knowledge: Knowledge = Field(default_factory=FrozenMap, description=KNOWLEDGE_DESCRIPTION)

    @property
    def language(self) -> str:
        return self.languages[0]


class Topic(Frozen):
    name: str = Field(
        min_length=1, max_length=24, description="Kurzer Anzeigename für den Agenten, z. B. Kfz"
    )
    leika: (
        Annotated[str, _checked(_leika, "'{value}' ist kein LeiKa-Schlüssel (14 Ziffern)")] | None
    ) = Field(default=None, description="LeiKa-Schlüssel (14 Ziffern), wenn es genau einen gibt")
    # Opening hours (issue 10)
    hours: HoursConfig | None = Field(
        default=None,
        description="Zeiten des Themas für alle Kunden; engen die Zeiten des Kunden ein",
    )
    when_closed: WhenClosed | None = Field(
        default=None, description="Außerhalb der Themenzeiten; ohne: wie beim Kunden"
    )


class UnknownCaller(Frozen):
    """What happens when the caller's town cannot be worked out from the numbers."""

    town_menu: MenuTree | None = Field(
        default=None, description="Menü 'Um welche Stadt geht es?' mit Aktionen client: …"
    )
    default_client: Identifier | None = Field(
        default=None, description="Kunde, wenn kein Menü gespielt wird"
    )

    @model_validator(mode="after")
    def _one_way(self) -> UnknownCaller:
        if self.town_menu is None and self.default_client is None:
            raise ValueError("town_menu oder default_client angeben")
        return self


class CallRecords(Frozen):
    """Where the call records (one row per call) are kept, and how much of the caller's number.

    SQLite by default; PostgreSQL for larger centers. The database is created and migrated at
    start (stadtruf.store.records).
    """

    sqlite: str | None = Field(
        default=None,
        description="SQLite-Datei der Anrufliste, relativ zu dieser Datei; "
        "ohne Angabe run/anrufe.sqlite",
    )
    postgresql: (
        Annotated[
            str,
            _checked(
                lambda v: v if v.startswith(("postgresql://", "postgres://")) else None,
                "'{value}' ist keine PostgreSQL-Verbindung (z. B. 'postgresql://stadtruf@db/stadtruf')",
            ),
        ]
        | None
    ) = Field(
        default=None,
        description="Statt SQLite: PostgreSQL-Verbindung, z. B. "
        "'postgresql://stadtruf@db.intern/stadtruf' (Passwort besser in ~/.pgpass)",
    )
    caller_number: CallerNumberStorage = Field(
        default="area_code",
        description="Rufnummer des Anrufers in der Anrufliste: full = vollständig, "
        "area_code = nur die Vorwahl (z. B. 0203…), none = gar nicht (Datenschutz)",
    )

    @model_validator(mode="after")
    def _one_database(self) -> CallRecords:
        if self.sqlite is not None and self.postgresql is not None:
            raise ValueError("entweder sqlite oder postgresql angeben, nicht beides")
        return self


class ServiceCenter(Frozen):
    """Settings shared by all clients of one service center."""

    name: str = Field(min_length=1, description="Name des Servicecenters, z. B. Call Duisburg")
    default_language: Language = "de"
    sounds_dir: str | None = Field(
        default=None, description="Verzeichnis der Ansagen, relativ zu dieser Datei"
    )
    service_numbers: tuple[ServiceNumber, ...] = Field(
        default=("115",), description="Gewählte Nummern, bei denen die Vorwahl des Anrufers zählt"
    )
    office_numbers: tuple[OfficeNumber, ...] = Field(
        default=(),
        description="Rufnummern (Ämter, Stellen), die Agenten anrufen und an die sie "
        "weiterverbinden dürfen, zusätzlich zu den Weiterleitungszielen der Menüs und "
        "Warteschlangen",
    )
    greeting: Prompt | None = Field(
        default=None, description="Begrüßung, solange der Kunde noch nicht feststeht"
    )
    topics: Annotated[Mapping[Identifier, Topic], AfterValidator(_freeze)] = Field(min_length=1)
    menu_defaults: MenuDefaults = MenuDefaults()
    area_code_tie_breaks: Annotated[Mapping[AreaCode, Identifier], AfterValidator(_freeze)] = Field(
        default_factory=FrozenMap,
        description="Vorwahl → Kunde, wenn mehrere Kunden sie beanspruchen; 'ask' = Anrufer fragen",
    )
    unknown_caller: UnknownCaller
    max_menu_prompts: int = Field(
        default=30, ge=5, le=200, description="Obergrenze an Ansagen pro Anruf im Menü"
    )
    call_records: CallRecords = CallRecords()
    sip_bans: SipBans = Field(
        default=SipBans(), description="Sperre von Adressen nach wiederholten SIP-Fehlversuchen"
    )
    privacy: Privacy = Field(
        default=Privacy(), description="Datenschutz: Rufnummern im Log, Aufbewahrungsfristen"
    )
    capacity: Capacity = Field(
        default=Capacity(), description="RTP-Ports und Höchstzahl gleichzeitiger Anrufe"
    )
    service_level: ServiceLevelSettings = Field(
        default=ServiceLevelSettings(),
        description="Service-Level-Ziel für Kunden ohne eigenes und Grenze der Kurzaufleger",
    )
    api: ApiConfig = Field(default=ApiConfig(), description="HTTPS und Anmeldung der API/Web")


ASK = "ask"  # tie-break value: play the town menu instead of picking a client


M = TypeVar("M", bound=BaseModel)


def walk(
    value: object, kind: type[M], loc: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], M]]:
    """Every `kind` model inside a model, with its location (for checks, rendering, lists)."""
    if isinstance(value, kind):
        yield loc, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from walk(getattr(value, name), kind, (*loc, name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, kind, (*loc, key))
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from walk(item, kind, (*loc, i))


def walk_prompts(
    value: object, loc: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Prompt]]:
    """Every prompt inside a model, with its location (for checks and speech rendering)."""
    return walk(value, Prompt, loc)
