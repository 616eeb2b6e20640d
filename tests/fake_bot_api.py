"""A fake Telegram Bot API HTTP server for offline end-to-end tests.

The server runs on ``127.0.0.1`` (random port) in a daemon thread using only the standard
library, so it is independent of whatever asyncio event loop the test uses. Point a
python-telegram-bot (PTB) bot at it with::

    fake = FakeBotAPI()
    fake.start()
    app = (
        Application.builder()
        .token(fake.token)
        .base_url(f"{fake.base_url}/bot")
        .base_file_url(f"{fake.base_url}/file/bot")
        .build()
    )

Requests then arrive at ``/bot<TOKEN>/<method>`` and file downloads at
``/file/bot<TOKEN>/<file_path>``.

Parameters are parsed from the query string and from ``application/x-www-form-urlencoded``,
``multipart/form-data`` or ``application/json`` bodies into a plain ``dict``:

* PTB (22.x, ``HTTPXRequest``) sends every parameter as a *string*: plain strings as is and
  everything else JSON-encoded (``1001``, ``true``, ``{"inline_keyboard": ...}``). Values of
  known nested fields (``reply_markup``, ``entities``, ``results``, ``commands``, ...) are
  JSON-decoded, known integer fields (``chat_id``, ``message_id``, ``offset``, ...) become
  ``int`` and known boolean fields (``disable_notification``, ``show_alert``, ...) become
  ``bool``. Everything else (notably ``text``) stays a string.
* Uploaded files (multipart parts with a filename) become
  ``{"file_name": str, "mime_type": str | None, "content": bytes}``.

Blocking helpers such as :meth:`FakeBotAPI.wait_for` must not be called directly from a
coroutine that shares its event loop with the bot under test (the bot could not run while the
loop is blocked); use :meth:`FakeBotAPI.wait_for_async` there.
"""

from __future__ import annotations

import asyncio
import copy
import html
import itertools
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["Call", "FakeBotAPI"]

#: Fields whose (string) values are JSON-decoded when they look like JSON.
NESTED_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "explanation_entities",
        "results",
        "commands",
        "allowed_updates",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "media",
        "options",
        "reaction",
        "button",
        "menu_button",
        "permissions",
        "prices",
        "input_message_content",
    }
)

#: Fields converted to ``int`` when their value is an integer literal.
INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "message_thread_id",
        "reply_to_message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "duration",
        "width",
        "height",
        "until_date",
        "max_connections",
        "open_period",
        "close_date",
    }
)

#: Fields converted to ``bool`` when their value is ``"true"``/``"false"``.
BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "allow_paid_broadcast",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "show_alert",
        "is_personal",
        "drop_pending_updates",
        "has_spoiler",
        "show_caption_above_media",
        "supports_streaming",
        "revoke_messages",
        "is_anonymous",
        "allows_multiple_answers",
        "is_closed",
    }
)

#: ``send*`` methods that do not return a Message.
_NON_MESSAGE_SEND_METHODS = frozenset({"sendchataction", "sendmediagroup", "sendinvoice"})

#: How long a single getUpdates long poll may block at most (seconds).
LONG_POLL_CAP = 2.0

#: Maximum length of a message text (Telegram counts UTF-16 code units after parsing).
MAX_MESSAGE_LENGTH = 4096

#: Maximum size of ``callback_data`` in bytes.
MAX_CALLBACK_DATA_BYTES = 64

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{1,64})?")
_DISPOSITION_PARAM_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"|(\w+)=([^;\s]+)')
_HTML_TAG_RE = re.compile(r"<[^>]*>")


@dataclass
class Call:
    """One request received by the fake server.

    Attributes:
        method: Bot API method name as sent (e.g. ``"sendMessage"``); file downloads are
            recorded as ``"downloadFile"`` with ``params == {"file_path": ...}``.
        params: The parsed parameters (see the module docstring).
        time: ``time.monotonic()`` when the request arrived.
        status: HTTP status answered (``200``, ``429``, ...), ``0`` if the connection was
            dropped on purpose, ``None`` while the request is still being processed.
        result: The ``result`` the fake answered with (``None`` for errors).
    """

    method: str
    params: dict
    time: float
    status: int | None = None
    result: Any = None


@dataclass
class _Fault:
    kind: str  # "fail" | "drop" | "delay"
    status: int = 429
    retry_after: int | None = None
    description: str | None = None
    seconds: float = 0.0


@dataclass
class _Reply:
    status: int = 200
    payload: dict | None = None
    body: bytes | None = None
    content_type: str = "application/json"
    drop: bool = False


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes | None
    extra: dict = field(default_factory=dict)


def _utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (Telegram's unit for entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def _coerce(name: str, value: Any) -> Any:
    """Convert a raw (string) parameter value of field ``name`` to a Python value."""
    if not isinstance(value, str):
        return value
    if name in NESTED_FIELDS:
        stripped = value.strip()
        if stripped[:1] in ("{", "[") or stripped in ("null", "true", "false"):
            try:
                return json.loads(stripped)
            except ValueError:
                return value
        return value
    if name in INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if name in BOOL_FIELDS and value in ("true", "false", "True", "False"):
        return value.lower() == "true"
    return value


def _parse_disposition(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for match in _DISPOSITION_PARAM_RE.finditer(value):
        if match.group(1):
            params[match.group(1).lower()] = (
                match.group(2).replace("%22", '"').replace("\\\\", "\\")
            )
        else:
            params[match.group(3).lower()] = match.group(4)
    return params


def _parse_multipart(body: bytes, boundary: str) -> dict[str, Any]:
    """Parse a ``multipart/form-data`` body (binary safe) into a dict."""
    result: dict[str, Any] = {}
    delimiter = b"--" + boundary.encode("latin-1")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        if chunk.endswith(b"\r\n"):
            chunk = chunk[:-2]
        raw_headers, _, content = chunk.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
            key, sep, val = line.partition(":")
            if sep:
                headers[key.strip().lower()] = val.strip()
        disposition = _parse_disposition(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            result[name] = {
                "file_name": disposition["filename"],
                "mime_type": headers.get("content-type"),
                "content": content,
            }
        else:
            result[name] = content.decode("utf-8", "replace")
    return result


def _content_type_params(header: str) -> tuple[str, dict[str, str]]:
    main, *rest = header.split(";")
    params = {}
    for item in rest:
        key, sep, val = item.strip().partition("=")
        if sep:
            params[key.strip().lower()] = val.strip().strip('"')
    return main.strip().lower(), params


def _plain_text(text: str, parse_mode: str | None) -> str:
    """Rough approximation of the text Telegram keeps after parsing markup (for length checks)."""
    if parse_mode and parse_mode.upper() == "HTML":
        return html.unescape(_HTML_TAG_RE.sub("", text))
    return text


def _callback_data_error(reply_markup: Any) -> str | None:
    if not isinstance(reply_markup, dict):
        return None
    for row in reply_markup.get("inline_keyboard") or []:
        for button in row or []:
            data = button.get("callback_data") if isinstance(button, dict) else None
            if isinstance(data, str) and len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
                return "Bad Request: BUTTON_DATA_INVALID"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeBotAPI

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
        """Ignore client disconnects (PTB cancels long polls); remember anything else."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return
        self.fake.server_errors.append(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between header and body writes
    server: _Server
    timeout = 120  # idle keep-alive connections are closed eventually

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence per-request logging."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _parse_params(self, query: str, body: bytes) -> dict[str, Any]:
        raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        content_type, ct_params = _content_type_params(self.headers.get("Content-Type", ""))
        if body:
            if content_type == "application/json":
                decoded = json.loads(body.decode("utf-8"))
                if isinstance(decoded, dict):
                    raw.update(decoded)
            elif content_type == "multipart/form-data" and "boundary" in ct_params:
                raw.update(_parse_multipart(body, ct_params["boundary"]))
            else:
                raw.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return {key: _coerce(key, value) for key, value in raw.items()}

    def _dispatch(self) -> None:
        fake = self.server.fake
        split = urlsplit(self.path)
        path = unquote(split.path)
        body = self._read_body()
        try:
            params = self._parse_params(split.query, body)
        except ValueError as exc:
            self._send(
                _Reply(
                    400,
                    {
                        "ok": False,
                        "error_code": 400,
                        "description": f"Bad Request: can't parse body: {exc}",
                    },
                )
            )
            return
        if path.startswith("/file/bot"):
            token, _, file_path = path[len("/file/bot") :].partition("/")
            reply = fake._serve(token, "downloadFile", {"file_path": file_path})
        elif path.startswith("/bot"):
            token, _, method = path[len("/bot") :].partition("/")
            reply = fake._serve(token, method, params)
        else:
            reply = _Reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        self._send(reply)

    def _send(self, reply: _Reply) -> None:
        if reply.drop:
            self.close_connection = True
            return
        body = reply.body
        if body is None:
            body = json.dumps(reply.payload).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


class FakeBotAPI:
    """In-process fake of the Telegram Bot API (HTTP server in a daemon thread).

    Use as a context manager (``with FakeBotAPI() as fake: ...``) or call :meth:`start` and
    :meth:`stop`. All public methods are thread-safe.
    """

    def __init__(
        self,
        token: str = "123456789:AAFakeTokenForTestsOnly_abcdefghijk",
        bot_id: int = 123456789,
        username: str = "stakhanov_test_bot",
        *,
        first_name: str = "Stakhanov Test Bot",
    ) -> None:
        """Create the fake (not started yet).

        Args:
            token: The bot token the fake accepts; any other token gets 401.
            bot_id: ``id`` of the bot user returned by getMe and used as ``from`` of sent
                messages.
            username: Bot username (without ``@``).
            first_name: Bot first name.
        """
        self.token = token
        self.bot_id = bot_id
        self.username = username
        self.first_name = first_name
        #: Tracebacks of unexpected exceptions inside the server (should stay empty).
        self.server_errors: list[str] = []
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._updates: list[dict] = []  # pending (not yet confirmed) updates
        self._next_update_id = 1
        self._faults: dict[str, deque[_Fault]] = {}
        self._message_counters: dict[int | str, itertools.count] = {}
        self._messages: dict[tuple[int | str, int], dict] = {}
        self._sent: list[dict] = []
        self._chats: dict[int | str, dict] = {}
        self._users: dict[int, dict] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._commands: dict[str, list] = {}
        self._stopping = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Bind ``127.0.0.1`` on a free port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeBotAPI already started")
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._stopping = False
        self._server = server
        port = server.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeBotAPI:{port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; pending long polls are released immediately."""
        server, thread = self._server, self._thread
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeBotAPI:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ inspection

    @property
    def bot_user(self) -> dict:
        """The bot's ``User`` dict as returned by getMe."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @property
    def calls(self) -> list[Call]:
        """Snapshot of every request received, in arrival order."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """All recorded calls to ``method`` (including failed/dropped ones), in order."""
        with self._cond:
            return [c for c in self._calls if c.method == method]

    def sent_messages(self, chat_id: int | None = None) -> list[dict]:
        """Message dicts the fake returned for sendMessage/editMessageText, in order.

        Args:
            chat_id: Only messages in this chat.
        """
        with self._cond:
            return [
                copy.deepcopy(m)
                for m in self._sent
                if chat_id is None or m["chat"]["id"] == chat_id
            ]

    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by the bot (via a later getUpdates ``offset``)."""
        with self._cond:
            return copy.deepcopy(self._updates)

    def wait_for(
        self,
        method: str,
        predicate: Callable[[dict], bool] | None = None,
        timeout: float = 5.0,
        count: int = 1,
        *,
        include_failed: bool = False,
    ) -> list[Call]:
        """Block until at least ``count`` matching calls to ``method`` exist.

        Calls are counted from all calls ever received (not only new ones). By default only
        calls that were answered successfully (HTTP 200) count, so after a return the fake's
        answer has been produced (and e.g. :meth:`sent_messages` contains it); pass
        ``include_failed=True`` to also count failed/dropped/in-flight requests.

        Do not call this from a coroutine running on the bot's event loop; use
        :meth:`wait_for_async` there.

        Args:
            method: Bot API method name, e.g. ``"sendMessage"``.
            predicate: Called with ``call.params``; calls for which it returns false (or
                raises) are ignored.
            timeout: Seconds to wait.
            count: Number of matching calls required.
            include_failed: Count calls that did not get a 200 response too.

        Returns:
            All matching calls (at least ``count``), in order.

        Raises:
            AssertionError: On timeout, with a listing of the calls received.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                matching = [
                    c
                    for c in self._calls
                    if c.method == method
                    and (include_failed or c.status == HTTPStatus.OK)
                    and self._matches(predicate, c.params)
                ]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"Timed out after {timeout:g}s waiting for {count} "
                        f"{'' if include_failed else 'successful '}call(s) to {method!r}"
                        f"{' matching the predicate' if predicate else ''}; found "
                        f"{len(matching)}.\n{self._format_calls()}"
                    )
                self._cond.wait(remaining)

    async def wait_for_async(
        self,
        method: str,
        predicate: Callable[[dict], bool] | None = None,
        timeout: float = 5.0,
        count: int = 1,
        *,
        include_failed: bool = False,
    ) -> list[Call]:
        """Like :meth:`wait_for`, but runs in a worker thread so the event loop keeps running."""
        return await asyncio.to_thread(
            self.wait_for, method, predicate, timeout, count, include_failed=include_failed
        )

    @staticmethod
    def _matches(predicate: Callable[[dict], bool] | None, params: dict) -> bool:
        if predicate is None:
            return True
        try:
            return bool(predicate(params))
        except Exception:  # noqa: BLE001 - a predicate failing on some call means "no match"
            return False

    def _format_calls(self, limit: int = 40) -> str:
        if not self._calls:
            return "No calls were received."
        start = self._calls[0].time
        lines = [f"Calls received ({len(self._calls)}):"]
        shown = self._calls[-limit:]
        if len(self._calls) > limit:
            lines.append(f"  ... {len(self._calls) - limit} earlier calls omitted")
        for call in shown:
            params = {
                k: (
                    {"file_name": v.get("file_name"), "size": len(v.get("content") or b"")}
                    if isinstance(v, dict) and "content" in v
                    else v
                )
                for k, v in call.params.items()
            }
            text = json.dumps(params, ensure_ascii=False, default=repr)
            if len(text) > 300:
                text = text[:297] + "..."
            lines.append(
                f"  +{call.time - start:7.3f}s {call.method} "
                f"[{'pending' if call.status is None else call.status}] {text}"
            )
        return "\n".join(lines)

    # ------------------------------------------------------------------ fault injection

    def _add_fault(self, method: str, fault: _Fault, count: int) -> None:
        with self._cond:
            queue = self._faults.setdefault(method, deque())
            queue.extend(copy.copy(fault) for _ in range(count))

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls to ``method`` with an error.

        A 429 looks like Telegram's flood-control reply (``parameters.retry_after``; omitted
        when ``retry_after`` is None). For other statuses ``retry_after`` is ignored, since PTB
        would turn any ``retry_after`` into ``RetryAfter`` regardless of the status.
        """
        if description is None:
            if status == HTTPStatus.TOO_MANY_REQUESTS:
                description = f"Too Many Requests: retry after {retry_after or 0}"
            elif status == HTTPStatus.BAD_REQUEST:
                description = "Bad Request: injected failure"
            else:
                try:
                    description = HTTPStatus(status).phrase
                except ValueError:
                    description = f"Error {status}"
        self._add_fault(
            method,
            _Fault(
                "fail",
                status=status,
                retry_after=retry_after if status == HTTPStatus.TOO_MANY_REQUESTS else None,
                description=description,
            ),
            count,
        )

    def drop_next(self, method: str, count: int = 1) -> None:
        """Close the connection without any response for the next ``count`` calls."""
        self._add_fault(method, _Fault("drop"), count)

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Delay the (otherwise normal) response of the next ``count`` calls by ``seconds``."""
        self._add_fault(method, _Fault("delay", seconds=seconds), count)

    # ------------------------------------------------------------------ updates

    def push_update(self, update: dict) -> dict:
        """Queue a raw update for getUpdates; assigns ``update_id`` if missing."""
        with self._cond:
            update = copy.deepcopy(update)
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
            self._updates.append(update)
            self._updates.sort(key=lambda u: u["update_id"])
            self._cond.notify_all()
            return copy.deepcopy(update)

    def _user(
        self,
        user_id: int,
        first_name: str | None = None,
        language_code: str | None = None,
        *,
        update_language: bool = False,
    ) -> dict:
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": first_name or "Ann"}
            if language_code:
                user["language_code"] = language_code
        else:
            user = dict(user)
            if first_name:
                user["first_name"] = first_name
            if update_language:
                user.pop("language_code", None)
                if language_code:
                    user["language_code"] = language_code
        self._users[user_id] = user
        return dict(user)

    def _chat_for_update(self, user: dict, chat_id: int | None, chat_type: str) -> dict:
        if chat_type == "private":
            cid = user["id"] if chat_id is None else chat_id
            chat = {"id": cid, "type": "private", "first_name": user["first_name"]}
        else:
            if chat_id is None:
                raise ValueError(f"chat_id is required for chat_type={chat_type!r}")
            chat = dict(self._chats.get(chat_id) or {})
            chat.update({"id": chat_id, "type": chat_type})
            chat.setdefault("title", f"Test {chat_type} {chat_id}")
        self._chats[chat["id"]] = chat
        return dict(chat)

    def _next_message_id(self, chat_id: int | str) -> int:
        counter = self._message_counters.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _incoming_message(
        self,
        *,
        user_id: int,
        chat_id: int | None,
        chat_type: str,
        first_name: str | None = None,
        language_code: str | None = None,
        update_language: bool = False,
        **fields: Any,
    ) -> dict:
        with self._cond:
            user = self._user(user_id, first_name, language_code, update_language=update_language)
            chat = self._chat_for_update(user, chat_id, chat_type)
            message = {
                "message_id": self._next_message_id(chat["id"]),
                "from": user,
                "chat": chat,
                "date": int(time.time()),
            }
            message.update({k: v for k, v in fields.items() if v is not None})
            self._messages[(chat["id"], message["message_id"])] = copy.deepcopy(message)
        return self.push_update({"message": message})

    def _auto_entities(self, text: str) -> list[dict]:
        entities: list[dict] = []
        command_end = 0
        match = _COMMAND_RE.match(text)
        if match:
            entities.append(
                {"type": "bot_command", "offset": 0, "length": _utf16_len(match.group(0))}
            )
            command_end = match.end()
        mention = re.compile(rf"@{re.escape(self.username)}(?![A-Za-z0-9_])", re.IGNORECASE)
        for found in mention.finditer(text):
            if found.start() < command_end:
                continue
            entities.append(
                {
                    "type": "mention",
                    "offset": _utf16_len(text[: found.start()]),
                    "length": _utf16_len(found.group(0)),
                }
            )
        return entities

    def send_text(
        self,
        text: str,
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Ann",
        language_code: str | None = "en",
        reply_to_message: dict | None = None,
        entities: list | None = None,
    ) -> dict:
        """Queue a text message from a user; returns the update dict.

        ``chat_id`` defaults to ``user_id`` for private chats; for ``"group"``/``"supergroup"``
        give a (negative) ``chat_id``. Unless ``entities`` is given, a text starting with
        ``/command`` gets a ``bot_command`` entity and each ``@<bot username>`` outside it a
        ``mention`` entity (offsets in UTF-16 code units, like Telegram).
        """
        if entities is None:
            entities = self._auto_entities(text)
        return self._incoming_message(
            user_id=user_id,
            chat_id=chat_id,
            chat_type=chat_type,
            first_name=first_name,
            language_code=language_code,
            update_language=True,
            text=text,
            entities=entities or None,
            reply_to_message=reply_to_message,
        )

    def press_button(self, data: str, *, message: dict, user_id: int = 1001) -> dict:
        """Queue a ``callback_query`` update pressing a button with ``data`` on ``message``.

        ``message`` is a Message dict the bot sent, e.g. from :meth:`sent_messages`.
        """
        with self._cond:
            user = self._user(user_id)
            query_id = f"{next(self._id_counter)}{user_id}"
            chat_instance = str(abs(hash((message["chat"]["id"], self.bot_id))))
        return self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": copy.deepcopy(message),
                    "chat_instance": chat_instance,
                    "data": data,
                }
            }
        )

    def send_inline_query(self, query: str, *, user_id: int = 1001) -> dict:
        """Queue an ``inline_query`` update; returns the update dict."""
        with self._cond:
            user = self._user(user_id)
            query_id = f"{next(self._id_counter)}{user_id}"
        return self.push_update(
            {
                "inline_query": {
                    "id": query_id,
                    "from": user,
                    "query": query,
                    "offset": "",
                    "chat_type": "sender",
                }
            }
        )

    def add_file(
        self, content: bytes | None, *, kind: str = "documents", file_name: str = "", **extra: Any
    ) -> dict:
        """Register file bytes so getFile and the download work.

        Returns:
            ``{"file_id", "file_unique_id", "file_size"}`` (``file_size`` only with content).
        """
        with self._cond:
            number = next(self._file_counter)
            suffix = ""
            if "." in file_name:
                suffix = "." + file_name.rsplit(".", 1)[1]
            stored = _StoredFile(
                file_id=f"FAKE{kind[:4].upper()}{number:06d}AgADfileid",
                file_unique_id=f"AgAD{number:06d}",
                file_path=f"{kind}/file_{number}{suffix}",
                content=content,
                extra=extra,
            )
            self._files[stored.file_id] = stored
            self._files_by_path[stored.file_path] = stored
        info = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if content is not None:
            info["file_size"] = len(content)
        return info

    def send_document(
        self,
        content: bytes,
        file_name: str,
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        mime_type: str = "application/x-yaml",
        caption: str | None = None,
        chat_type: str = "private",
    ) -> dict:
        """Queue a message with a document (downloadable via getFile); returns the update."""
        document = self.add_file(content, kind="documents", file_name=file_name)
        document.update({"file_name": file_name, "mime_type": mime_type})
        return self._incoming_message(
            user_id=user_id,
            chat_id=chat_id,
            chat_type=chat_type,
            document=document,
            caption=caption,
        )

    def send_sticker(
        self,
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        emoji: str = "👍",
        chat_type: str = "private",
    ) -> dict:
        """Queue a message with a (regular, static) sticker; returns the update."""
        sticker = self.add_file(
            b"RIFF\x00\x00\x00\x00WEBPVP8 ", kind="stickers", file_name="sticker.webp"
        )
        sticker.update(
            {
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
                "set_name": "FakeStickers",
            }
        )
        return self._incoming_message(
            user_id=user_id, chat_id=chat_id, chat_type=chat_type, sticker=sticker
        )

    def send_photo(
        self,
        content: bytes = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9",
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        caption: str | None = None,
        chat_type: str = "private",
    ) -> dict:
        """Queue a message with a photo (two PhotoSizes sharing ``content``); returns the update."""
        small = self.add_file(content, kind="photos", file_name="photo.jpg")
        small.update({"width": 90, "height": 90})
        large = self.add_file(content, kind="photos", file_name="photo.jpg")
        large.update({"width": 800, "height": 800})
        return self._incoming_message(
            user_id=user_id,
            chat_id=chat_id,
            chat_type=chat_type,
            photo=[small, large],
            caption=caption,
        )

    def send_voice(
        self,
        content: bytes = b"OggS\x00fake-opus",
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        duration: int = 1,
        chat_type: str = "private",
    ) -> dict:
        """Queue a message with a voice note; returns the update."""
        voice = self.add_file(content, kind="voice", file_name="voice.oga")
        voice.update({"duration": duration, "mime_type": "audio/ogg"})
        return self._incoming_message(
            user_id=user_id, chat_id=chat_id, chat_type=chat_type, voice=voice
        )

    # ------------------------------------------------------------------ request handling

    def _serve(self, token: str, method: str, params: dict) -> _Reply:
        """Handle one request (called from a server thread)."""
        call = Call(method=method, params=params, time=time.monotonic())
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
            fault = None
            if token == self.token:
                queue = self._faults.get(method)
                fault = queue.popleft() if queue else None
        if token != self.token:
            reply = _Reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        elif fault is not None and fault.kind == "drop":
            reply = _Reply(drop=True)
        elif fault is not None and fault.kind == "fail":
            payload: dict[str, Any] = {
                "ok": False,
                "error_code": fault.status,
                "description": fault.description,
            }
            if fault.retry_after is not None:
                payload["parameters"] = {"retry_after": fault.retry_after}
            reply = _Reply(fault.status, payload)
        else:
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.seconds)
            try:
                reply = self._handle_method(method, params)
            except _ApiError as exc:
                reply = _Reply(
                    exc.status,
                    {"ok": False, "error_code": exc.status, "description": exc.description},
                )
        with self._cond:
            call.status = 0 if reply.drop else reply.status
            if reply.payload is not None and reply.payload.get("ok"):
                call.result = copy.deepcopy(reply.payload.get("result"))
            self._cond.notify_all()
        return reply

    def _handle_method(self, method: str, params: dict) -> _Reply:
        name = method.lower()
        if name == "downloadfile":
            with self._cond:
                stored = self._files_by_path.get(params["file_path"])
            if stored is None or stored.content is None:
                raise _ApiError(404, "Not Found")
            return _Reply(200, body=stored.content, content_type="application/octet-stream")
        handler = getattr(self, f"_m_{name}", None)
        if handler is not None:
            result = handler(params)
        elif name.startswith("send") and name not in _NON_MESSAGE_SEND_METHODS:
            result = self._m_send_other(method, params)
        elif name.startswith(("editmessagecaption", "editmessagereplymarkup", "editmessagemedia")):
            result = self._edit_message(params, {})
        else:
            result = True
        return _Reply(200, {"ok": True, "result": result})

    # -- individual methods (called outside the lock; they take it themselves)

    def _m_getme(self, params: dict) -> dict:  # noqa: ARG002
        return self.bot_user

    def _m_getupdates(self, params: dict) -> list[dict]:
        offset = params.get("offset")
        limit = params.get("limit")
        limit = 100 if not isinstance(limit, int) or not 1 <= limit <= 100 else limit
        timeout = params.get("timeout")
        timeout = float(timeout) if isinstance(timeout, int | float) else 0.0
        deadline = time.monotonic() + min(max(timeout, 0.0), LONG_POLL_CAP)
        with self._cond:
            if isinstance(offset, int) and offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while True:
                if isinstance(offset, int) and offset < 0:
                    available = self._updates[offset:]
                else:
                    available = list(self._updates)
                remaining = deadline - time.monotonic()
                if available or remaining <= 0 or self._stopping:
                    return copy.deepcopy(available[:limit])
                self._cond.wait(remaining)

    def _m_deletewebhook(self, params: dict) -> bool:
        if params.get("drop_pending_updates") is True:
            with self._cond:
                self._updates.clear()
        return True

    def _m_getwebhookinfo(self, params: dict) -> dict:  # noqa: ARG002
        with self._cond:
            pending = len(self._updates)
        return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}

    def _commands_key(self, params: dict) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code", "")], sort_keys=True)

    def _m_setmycommands(self, params: dict) -> bool:
        with self._cond:
            self._commands[self._commands_key(params)] = list(params.get("commands") or [])
        return True

    def _m_deletemycommands(self, params: dict) -> bool:
        with self._cond:
            self._commands.pop(self._commands_key(params), None)
        return True

    def _m_getmycommands(self, params: dict) -> list:
        with self._cond:
            return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _m_getfile(self, params: dict) -> dict:
        with self._cond:
            stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        result = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_path": stored.file_path,
        }
        if stored.content is not None:
            result["file_size"] = len(stored.content)
        return result

    def _chat_for_send(self, chat_id: Any) -> dict:
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if isinstance(chat_id, str):
            chat = {
                "id": -1000000000000 - (abs(hash(chat_id)) % 10**9),
                "type": "channel",
                "title": chat_id.lstrip("@"),
                "username": chat_id.lstrip("@"),
            }
        elif chat_id > 0:
            user = self._users.get(chat_id, {})
            chat = {
                "id": chat_id,
                "type": "private",
                "first_name": user.get("first_name", f"User{chat_id}"),
            }
        elif chat_id <= -1000000000000:
            chat = {"id": chat_id, "type": "supergroup", "title": f"Test supergroup {chat_id}"}
        else:
            chat = {"id": chat_id, "type": "group", "title": f"Test group {chat_id}"}
        self._chats[chat_id] = chat
        return dict(chat)

    def _new_bot_message(self, params: dict, **fields: Any) -> dict:
        """Build, store and return a Message sent by the bot (caller holds the lock)."""
        chat = self._chat_for_send(params.get("chat_id"))
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
        }
        reply_parameters = params.get("reply_parameters")
        reply_to = None
        if isinstance(reply_parameters, dict):
            reply_to = reply_parameters.get("message_id")
        elif isinstance(params.get("reply_to_message_id"), int):
            reply_to = params["reply_to_message_id"]
        if reply_to is not None and (chat["id"], reply_to) in self._messages:
            original = copy.deepcopy(self._messages[(chat["id"], reply_to)])
            original.pop("reply_to_message", None)
            message["reply_to_message"] = original
        if isinstance(params.get("message_thread_id"), int):
            message["message_thread_id"] = params["message_thread_id"]
        message.update({k: v for k, v in fields.items() if v is not None})
        if (
            isinstance(params.get("reply_markup"), dict)
            and "inline_keyboard" in params["reply_markup"]
        ):
            message["reply_markup"] = params["reply_markup"]
        self._messages[(chat["id"], message["message_id"])] = copy.deepcopy(message)
        return message

    def _m_sendmessage(self, params: dict) -> dict:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(_plain_text(text, params.get("parse_mode"))) > MAX_MESSAGE_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        error = _callback_data_error(params.get("reply_markup"))
        if error:
            raise _ApiError(400, error)
        with self._cond:
            message = self._new_bot_message(
                params,
                text=text,
                entities=params.get("entities") or None,
                link_preview_options=params.get("link_preview_options"),
            )
            self._sent.append(copy.deepcopy(message))
            return message

    def _edit_message(self, params: dict, changes: dict, *, record: bool = False) -> Any:
        if params.get("inline_message_id"):
            return True
        error = _callback_data_error(params.get("reply_markup"))
        if error:
            raise _ApiError(400, error)
        with self._cond:
            chat = self._chat_for_send(params.get("chat_id"))
            key = (chat["id"], params.get("message_id"))
            message = copy.deepcopy(self._messages.get(key)) or {
                "message_id": params.get("message_id"),
                "from": self.bot_user,
                "chat": chat,
                "date": int(time.time()),
            }
            message.update(changes)
            for name in ("text", "caption"):
                if name in changes:
                    entities_key = "entities" if name == "text" else "caption_entities"
                    message.pop(entities_key, None)
                    if params.get(entities_key):
                        message[entities_key] = params[entities_key]
            message.pop("reply_markup", None)
            markup = params.get("reply_markup")
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                message["reply_markup"] = markup
            message["edit_date"] = int(time.time())
            self._messages[key] = copy.deepcopy(message)
            if record:
                self._sent.append(copy.deepcopy(message))
            return message

    def _m_editmessagetext(self, params: dict) -> Any:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(_plain_text(text, params.get("parse_mode"))) > MAX_MESSAGE_LENGTH:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return self._edit_message(params, {"text": text}, record=True)

    def _m_editmessagecaption(self, params: dict) -> Any:
        return self._edit_message(params, {"caption": params.get("caption", "")})

    def _m_deletemessage(self, params: dict) -> bool:
        with self._cond:
            chat = self._chat_for_send(params.get("chat_id"))
            self._messages.pop((chat["id"], params.get("message_id")), None)
        return True

    def _media_field(self, method: str, params: dict) -> dict:
        """Attachment fields for the Message answering a send<Media> call."""
        kind = method.lower()[len("send") :]
        value = params.get("video_note" if kind == "videonote" else kind)
        if value is None:
            return {}
        if isinstance(value, str) and value in self._files:
            stored = self._files[value]
            info = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
            if stored.content is not None:
                info["file_size"] = len(stored.content)
        elif isinstance(value, dict) and "content" in value:
            info = self.add_file(
                value["content"], kind=f"{kind}s", file_name=value.get("file_name") or ""
            )
            if kind in ("document", "audio", "video", "animation"):
                info["file_name"] = value.get("file_name")
                if value.get("mime_type"):
                    info["mime_type"] = value["mime_type"]
        else:
            info = self.add_file(None, kind=f"{kind}s")
        if kind == "photo":
            return {"photo": [{**info, "width": 800, "height": 800}]}
        if kind in ("video", "animation", "videonote"):
            info.update({"width": 640, "height": 640, "duration": 1})
        if kind in ("audio", "voice"):
            info["duration"] = 1
        if kind == "sticker":
            info.update(
                {
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                }
            )
        if kind == "videonote":
            return {"video_note": {**info, "length": 640}}
        if kind in ("document", "audio", "voice", "video", "animation", "sticker"):
            return {kind: info}
        return {}

    def _m_send_other(self, method: str, params: dict) -> dict:
        with self._cond:
            fields: dict[str, Any] = {}
            if method.lower() in ("senddice",):
                fields["dice"] = {"emoji": params.get("emoji", "🎲"), "value": 1}
            elif method.lower() in ("sendlocation",):
                fields["location"] = {
                    "latitude": float(params.get("latitude", 0)),
                    "longitude": float(params.get("longitude", 0)),
                }
            else:
                fields.update(self._media_field(method, params))
            if params.get("caption"):
                fields["caption"] = params["caption"]
                fields["caption_entities"] = params.get("caption_entities") or None
            return self._new_bot_message(params, **fields)

    def _m_sendmediagroup(self, params: dict) -> list[dict]:
        with self._cond:
            media = params.get("media") if isinstance(params.get("media"), list) else []
            group_id = str(next(self._id_counter))
            return [
                self._new_bot_message(
                    params, media_group_id=group_id, caption=(item or {}).get("caption")
                )
                for item in media
            ]

    def _m_forwardmessage(self, params: dict) -> dict:
        with self._cond:
            source = self._messages.get((params.get("from_chat_id"), params.get("message_id")))
            fields = {
                k: v
                for k, v in (source or {}).items()
                if k in ("text", "entities", "caption", "document", "photo")
            }
            return self._new_bot_message(params, **fields)

    def _m_copymessage(self, params: dict) -> dict:
        return {"message_id": self._m_forwardmessage(params)["message_id"]}


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
