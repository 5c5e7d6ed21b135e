"""The Slack app: Bolt listeners, one module per surface, each with `register(app, engine)`.

Listeners stay thin: parse the payload (`payloads`), call the core through `Engine`, render
with `bot.render.blocks`, and send through `delivery`, which knows Slack's failure modes.
"""
