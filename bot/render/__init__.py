"""Renderers: the core's answers and recommendations as Slack Block Kit (`blocks`) and as plain
terminal text (`text`). Both take the same core objects; neither decides anything."""
