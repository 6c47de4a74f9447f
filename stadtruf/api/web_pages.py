"""The web UI's HTML pages: small shells that `static/app.js` fills from the event stream.
German, no external resources (the machines have no internet)."""

from __future__ import annotations

from html import escape

from stadtruf.core.web_access import User

PAUSE_REASONS = ("Pause", "Mittagspause", "Besprechung", "Schulung", "Rückruf")


def _page(title: str, body: str, *, kind: str = "", csrf: str = "", script: bool = True) -> str:
    js = '<script src="/ui/static/app.js" defer></script>' if script else ""
    return f"""<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{escape(csrf)}">
<title>{escape(title)}</title>
<link rel="stylesheet" href="/ui/static/style.css">
{js}
</head>
<body class="{escape(kind)}">
{body}
</body>
</html>
"""


def login_page(message: str = "") -> str:
    note = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    body = f"""<main class="login">
<h1>stadtruf – Anmeldung</h1>
{note}
<form method="post" action="/ui/login">
<label>Name <input name="name" autocomplete="username" required autofocus></label>
<label>Passwort <input name="password" type="password" autocomplete="current-password"
 required></label>
<button type="submit">Anmelden</button>
</form>
</main>"""
    return _page("Anmeldung – stadtruf", body, kind="login", script=False)


def _logout_form(csrf: str) -> str:
    return f"""<form method="post" action="/ui/logout" class="logout">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<button type="submit">Abmelden (Web)</button></form>"""


def wallboard_page(user: str, csrf: str) -> str:
    body = f"""<header><h1>Wallboard</h1><span id="clock"></span>
<span class="who">{escape(user)}</span>{_logout_form(csrf)}</header>
<p id="connection" class="connection">Verbinde …</p>
<main id="wallboard" data-stream="/ui/events/wallboard">
<section><h2>Wartende Anrufer</h2><div id="waiting"></div></section>
<section><h2>Service-Level heute</h2><div id="levels"></div></section>
<section><h2>Agenten</h2><div id="agent-counts"></div><div id="agents"></div></section>
</main>"""
    return _page("Wallboard – stadtruf", body, kind="wallboard", csrf=csrf)


def agent_page(agent_id: str, user: User, csrf: str) -> str:
    reasons = "".join(f"<option>{escape(r)}</option>" for r in PAUSE_REASONS)
    a = escape(agent_id)
    body = f"""<header><h1>Arbeitsplatz {a}</h1>
<span class="who">{escape(user.name)}</span>{_logout_form(csrf)}</header>
<p id="connection" class="connection">Verbinde …</p>
<main id="agent" data-agent="{a}" data-stream="/ui/events/agent/{a}">
<section id="state-box"><h2>Status</h2><p id="state" class="status"></p>
<div class="actions">
<button type="button" data-action="ready">Bereit</button>
<label>Grund <select id="pause-reason">{reasons}</select></label>
<button type="button" data-action="pause">Pause</button>
<button type="button" data-action="logout">Abmelden (Warteschlange)</button>
<button type="button" data-action="login" class="secondary">Anmelden (Warteschlange)</button>
</div><p id="action-error" class="error" role="alert"></p></section>
<section id="call-box"><h2>Aktueller Anruf</h2><div id="call"><p>Kein Anruf</p></div>
<div id="offices" class="actions"></div>
<h3>Wissen</h3><ul id="knowledge"></ul></section>
<section><h2>Letzte Anrufe</h2><table id="recent"></table></section>
</main>"""
    return _page(f"Agent {agent_id} – stadtruf", body, kind="agent-screen", csrf=csrf)
