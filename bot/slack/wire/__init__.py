"""What travels over the wire to and from Slack: the wiring ids (action, callback, event), the
payload models requests are parsed into, and the state carried in buttons and metadata."""
