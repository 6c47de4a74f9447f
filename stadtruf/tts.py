"""Menu texts without a recording, spoken by espeak-ng and cached by content.

Debian's German prompt package covers Asterisk's system sounds, but no town's menu. Until a
town records its own, a prompt may be given as text; we render it once per distinct
(language, text) to an 8 kHz WAV that Asterisk plays without transcoding, named by a hash of
the content, so an edited text gets a new file and an unchanged one is never rendered again.

espeak-ng and sox run inside the Asterisk root filesystem (`chroot`), the same binaries the
Docker image has, so the host needs neither. Asterisk sees the files under
/stadtruf/sounds/tts/ (the instance directory is bound to /stadtruf).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from stadtruf.core.prompts import SpokenText

_VOICES = {"de": "de", "en": "en-gb"}


class TtsError(RuntimeError):
    pass


class EspeakRenderer:
    """Runs espeak-ng | sox, optionally prefixed (e.g. ``["chroot", ROOTFS]``)."""

    def __init__(self, prefix: Sequence[str] = ()) -> None:
        self._prefix = list(prefix)

    def render(self, spoken: SpokenText, target: Path) -> None:
        voice = _VOICES.get(spoken.language, spoken.language)
        script = (
            'espeak-ng -v "$1" -s 150 --stdout -- "$2" '
            "| sox -q -t wav - -r 8000 -c 1 -b 16 -e signed-integer -t wav -"
        )
        result = subprocess.run(
            [*self._prefix, "sh", "-c", script, "tts", voice, spoken.text],
            capture_output=True,
            check=False,
            timeout=30,
        )
        if result.returncode != 0 or len(result.stdout) < 100:
            raise TtsError(
                f"rendering {spoken.text[:40]!r} ({spoken.language}) failed: "
                f"{result.stderr.decode(errors='replace').strip()}"
            )
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(result.stdout)
        tmp.replace(target)


def render_all(
    texts: Iterable[SpokenText], sounds_dir: Path, cache_dir: Path, renderer: EspeakRenderer
) -> int:
    """Make sure every text has its WAV in `sounds_dir`; returns how many were rendered."""
    sounds_dir.mkdir(parents=True, exist_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    rendered = 0
    for spoken in set(texts):
        name = f"{spoken.key}.wav"
        cached = cache_dir / name
        if not cached.exists():
            renderer.render(spoken, cached)
            rendered += 1
        target = sounds_dir / name
        if not target.exists():
            shutil.copyfile(cached, target)
    return rendered
