"""Talking to Slack and running on Bolt: the messenger with its outcomes, the kept-alive
transport, redelivery (event dedupe), the OAuth installation store, and Bolt tuning."""
