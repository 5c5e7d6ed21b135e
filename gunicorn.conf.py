"""gunicorn reads this file from the working directory, so the Procfile's `web:` line uses it.

Before the workers start, the master asks Slack whether the bot token is good (auth.test) and
logs one line naming the mode and the workspace; a token Slack rejects stops gunicorn with a
message saying what to do, instead of workers that can answer nothing. The workers inherit the
result for /healthz.
"""

from __future__ import annotations

import sys


def on_starting(server: object) -> None:
    from bot.settings import Settings
    from bot.slack.platform.token_check import startup_check, startup_line

    try:
        settings = Settings()
    except ValueError:
        return  # each worker reports the bad setting by name when it builds the app
    settings.configure_logging()
    check = startup_check(settings, "HTTP mode")
    if check.rejected:
        print(f"framework-advisor web: {startup_line('HTTP mode', check)}", file=sys.stderr)
        sys.exit(2)
