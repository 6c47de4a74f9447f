"""The pure core: every decision about a call, as functions and state machines without I/O.

Nothing here imports asyncio, aiohttp, subprocess or the ARI adapter (a unit test checks);
the shell (`ari_app`, `stadtruf.api`, `stadtruf.store`, `stadtruf.asterisk`) translates.
"""
