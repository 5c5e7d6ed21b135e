"""The Slack app, by role (imports point down this list; import-linter checks it):

- `serving/`: entry points, the WSGI app gunicorn serves, the gunicorn worker that reads whole
  requests before a thread runs it, and `framework-bot serve`;
- `app.py`: the factory that builds the Bolt app from typed settings;
- `listeners/`: one module per Slack surface, each with `register(app, app_context)`;
- `flows/`: what several listeners share (answering, the questionnaire, curation, failures);
- `context.py`: `AppContext`, built once per app, and `Turn`, one request's view of it;
- `platform/`: the messenger with its outcomes, the kept-alive transport, redelivery, the OAuth
  installation store, Bolt tuning;
- `wire/`: wiring ids, payload models, and the state carried in buttons and metadata.
"""
