"""Request flows several listeners share: answering a typed question, the questionnaire,
curation (stats and reloads), and reporting an unhandled failure."""
