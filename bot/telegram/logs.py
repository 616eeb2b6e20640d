"""Logging: the token (and any other secret) redacted everywhere, network noise kept to one line."""

from __future__ import annotations

import logging
import threading

from bot.settings import Settings

logger = logging.getLogger(__name__)


class RedactingFormatter(logging.Formatter):
    """Formats records with every secret (the bot token) replaced, tracebacks included."""

    def __init__(self, secrets: list[str], fmt: str) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "[token]")
        return text


class OneLineNetworkErrors(logging.Filter):
    """PTB's network retry loop logs expected outages with a traceback; keep them to one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.exc_info
            and record.name.startswith("telegram")
            and "Network Retry Loop" in record.getMessage()
        ):
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(settings: Settings) -> None:
    """Log to stderr at LOG_LEVEL, the token redacted; httpx's per-request lines silenced."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter(
            [settings.token or ""], "%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    )
    handler.addFilter(OneLineNetworkErrors())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    threading.excepthook = log_thread_exception


def log_thread_exception(args: threading.ExceptHookArgs) -> None:
    """An exception that ends a thread goes through the logging (and its redaction) too."""
    logger.error(
        "thread %s ended with an error",
        args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
