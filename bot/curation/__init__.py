"""The admin's curation loop: suggestions from how people used the bot, edits to the
knowledge file they imply, and the trial every edit passes before it is written.

`suggestions` turns the store's signals into proposals; `edits` writes one into the YAML text
(keeping the rest of the file as it is); `trial` validates the result and compares `check`
and the evaluation sets before and after.
"""
