"""The Telegram front end: thin handlers over the pure core, wired in `app.build_application`.

Handlers parse the update, call the core (`replies`, `knowledge`, `store`) and render the
reply. Callback data carries only ids, checked against the knowledge being served.

- `chat`: people asking (commands, questions, buttons, language); `inline`: inline mode;
- `admin`: reload, upload, /unanswered, /stats, SIGHUP, knowledge shared between instances;
- `client`: the Bot API client; `webhook`: the webhook server and its inbox; `logs`: logging;
- `common`: what handlers share; `app`: the wiring and `run`.
"""
