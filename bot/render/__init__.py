"""Renderers: the core's answers and recommendations as Slack Block Kit (the toolkit `block_kit`
and one module per surface: `answers`, `companies`, `recommendation`, `questionnaire`, `home`,
`curator`, with `feedback` shared by answers and recommendations) and as plain terminal text
(`text`). Both take the same core objects; neither decides anything."""
