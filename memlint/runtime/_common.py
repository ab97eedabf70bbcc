"""Shared pieces of the long-term memory runtime: time, entry validation, ids, JSON.

Everything here is pure (no I/O). Validation happens before any write, so a bad entry
raises ``TypeError``/``ValueError`` and leaves every store untouched.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

Clock = Callable[[], datetime]
Entry = Dict[str, Any]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

#: Longest id accepted anywhere (store, archive, index).
MAX_ID_LENGTH = 200
# Characters never allowed in an id: path separators, NUL and other controls. Ids are
# never used as paths, but rejecting these keeps an id from ever *looking* like one in
# logs, exports or a future backend.
_FORBIDDEN_ID_CHARS = frozenset("/\\\x00") | frozenset(chr(c) for c in range(32)) | {"\x7f"}


def utc_now() -> datetime:
    """The default clock: the current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def read_clock(clock: Clock) -> datetime:
    """Call ``clock`` and return its time in UTC; a naive datetime is an error, not a guess."""
    now = clock()
    if type(now) is datetime and now.tzinfo is timezone.utc:
        return now  # the default clock's answer: already aware UTC
    if not isinstance(now, datetime):
        raise TypeError(f"the clock must return a datetime, not {type(now).__name__}")
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        raise ValueError("the clock returned a naive datetime; return a timezone-aware one")
    return now.astimezone(timezone.utc)


def to_micros(moment: datetime) -> int:
    """Whole microseconds since the Unix epoch (exact integer arithmetic, no float rounding)."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


# (second, "YYYY-MM-DDTHH:MM:SS") of the last second ``iso_of_micros`` formatted; one
# tuple, replaced whole, so that threads never see a second with another's text.
_LAST_SECOND: Tuple[int, str] = (0, "1970-01-01T00:00:00")


def iso_of_micros(micros: int) -> str:
    """``from_micros(micros).isoformat(timespec="microseconds")``, the stamp of a stored
    entry, without building a datetime for every store (that took about 4 µs of a store's
    time): the text up to the second is kept for the last second seen."""
    global _LAST_SECOND
    second, fraction = divmod(micros, 1_000_000)
    cached = _LAST_SECOND
    if cached[0] != second:
        cached = _LAST_SECOND = (second, from_micros(second * 1_000_000).isoformat()[:19])
    return "%s.%06d+00:00" % (cached[1], fraction)


def iso_utc(moment: datetime) -> str:
    """Fixed-width ISO 8601 in UTC, so that string order is time order."""
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return moment.isoformat(timespec="microseconds")


def parse_timestamp(value: Any) -> datetime:
    """An entry's ``timestamp`` as an aware UTC datetime.

    Accepts an aware ``datetime`` or an ISO 8601 string. A naive value (as the rules
    document's ``datetime.now().isoformat()`` writes) is read as UTC: that is the only
    reading that gives the same answer on every machine.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):  # fromisoformat accepts "Z" only from Python 3.11
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"timestamp is not ISO 8601: {value!r}") from None
    else:
        raise TypeError(f"timestamp must be an ISO 8601 string or a datetime, not {type(value).__name__}")
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def check_number(name: str, value: Any, *, low: Optional[float] = None, high: Optional[float] = None,
                 integer: bool = False, allow_none: bool = False) -> Any:
    """Validate a numeric parameter; ``bool`` is rejected although it is an ``int``."""
    if value is None and allow_none:
        return None
    # numbers.Integral/Real include numpy's scalars (np.int64, np.float32, ...), which
    # arrive from embeddings and scores; they are converted to plain Python numbers.
    kind_abc: Any = numbers.Integral if integer else numbers.Real
    if _is_bool(value) or not isinstance(value, kind_abc):
        kind = "an int" if integer else "a number"
        raise TypeError(f"{name} must be {kind}, not {type(value).__name__}")
    value = int(value) if integer else (value if type(value) in (int, float) else float(value))
    if not integer and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, not {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, not {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, not {value!r}")
    return value


def _is_bool(value: Any) -> bool:
    # bool, and numpy's bool_ (which is not a bool subclass)
    return isinstance(value, bool) or type(value).__name__ in ("bool_", "bool8")


def check_importance(value: Any) -> float:
    if type(value) is float and 0.0 <= value <= 1.0:  # the common case, checked quickly
        return value
    return float(check_number("importance", value, low=0.0, high=1.0))


def normalize_id(value: Any) -> str:
    """The storage key of an entry id (a string), or ``TypeError``/``ValueError``.

    An id is a ``str`` or an ``int`` (numpy integers count as ``int``); ``42`` and
    ``"42"`` name the same entry. Ids are keys, never file names; still, anything that
    could be read as a path (``../x``, ``/etc/passwd``, ``a\\b``, ``~user``, a NUL or
    other control character) is refused outright, so that no caller can be tricked into
    treating an id as a location. ``u:42`` is an ordinary id (without a separator it is
    no path).
    """
    if _is_bool(value) or not isinstance(value, (str, numbers.Integral)):
        raise TypeError(f"an entry id must be a str (or int), not {type(value).__name__}")
    text = value if isinstance(value, str) else str(int(value))
    if not text or len(text) > MAX_ID_LENGTH:
        raise ValueError(f"an entry id must have 1 to {MAX_ID_LENGTH} characters, got {len(text)}")
    if text.strip() != text:
        raise ValueError(f"an entry id must not start or end with whitespace: {text!r}")
    if text in (".", "..") or text.startswith("~"):
        raise ValueError(f"an entry id must not look like a path: {text!r}")
    bad = _FORBIDDEN_ID_CHARS.intersection(text)
    if bad:
        raise ValueError(
            f"an entry id must not contain path separators or control characters: {text!r}"
        )
    return text


def id_value(value: Any) -> Any:
    """The id as the caller gave it, in a JSON-friendly type: a ``str`` or a Python ``int``."""
    return value if isinstance(value, str) else int(value)


def _refuse(value: Any) -> Any:
    # numpy scalars (np.float32, np.int64, np.bool_) become the Python number they hold;
    # a NaN among them is still refused by allow_nan=False.
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    raise TypeError(f"a {type(value).__name__} value cannot be stored as JSON")


# Built once: json.dumps with options builds a new encoder on every call.
_COMPACT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_refuse)
_CANONICAL = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                              sort_keys=True, default=_refuse)


def _built_encoder(encoder: json.JSONEncoder) -> Any:
    """The C encoder behind ``encoder``, built once, or ``None`` (no ``_json`` module).

    ``JSONEncoder.encode`` builds a new one on every call, and that was most of the cost
    of encoding a small entry (about 4 of 5 µs). Built without cycle markers: a cycle is
    refused by ``_check_keys``' depth limit before encoding.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        return make(None, encoder.default, json.encoder.encode_basestring, None, encoder.key_separator,
                    encoder.item_separator, encoder.sort_keys, encoder.skipkeys, encoder.allow_nan)
    except TypeError:  # pragma: no cover - a Python whose C encoder takes other arguments
        return None


_FAST_COMPACT = _built_encoder(_COMPACT)
_FAST_CANONICAL = _built_encoder(_CANONICAL)


def to_json(data: Any) -> str:
    """Compact JSON; NaN/Infinity, non-string keys and non-JSON values raise."""
    _check_keys(data)
    if _FAST_COMPACT is None or type(data) is not dict:
        return _COMPACT.encode(data)
    return "".join(_FAST_COMPACT(data, 0))


def canonical_json(data: Any) -> str:
    """The one JSON spelling of ``data`` (sorted keys), the input of content ids and checksums."""
    _check_keys(data)
    if _FAST_CANONICAL is None or type(data) is not dict:
        return _CANONICAL.encode(data)
    return "".join(_FAST_CANONICAL(data, 0))


def _check_keys(data: Any, depth: int = 0) -> None:
    # json.dumps would silently turn 1 into "1" and drop the distinction; refuse instead.
    if depth > 200:
        raise ValueError("entry is nested too deeply (or contains a cycle)")
    # dict, list and tuple are all that json.dumps serializes; anything else reaches _refuse.
    # Only containers are descended into: a call per plain value would cost more than the
    # JSON encoding of a flat entry.
    if isinstance(data, dict):
        for key, value in data.items():
            if type(key) is not str and not isinstance(key, str):
                raise TypeError(f"entry keys must be strings, not {type(key).__name__} ({key!r})")
            if isinstance(value, (dict, list, tuple)):
                _check_keys(value, depth + 1)
    elif isinstance(data, (list, tuple)):
        for item in data:
            if isinstance(item, (dict, list, tuple)):
                _check_keys(item, depth + 1)


#: Keys that describe an entry's storage rather than its content: never part of a content id.
NON_CONTENT_KEYS = ("id", "timestamp", "importance")


def content_id(data: Mapping[str, Any]) -> str:
    """A stable id derived from the caller's content only: the same content gives the same
    id in every process, in the store, the archive and the index.

    SHA-256 of the canonical JSON of the entry without ``id``, ``timestamp`` and
    ``importance`` (what the store adds or the caller may change), 128 bits in hex.
    Python's ``hash()`` is salted per process and would name the same entry differently
    after a restart.
    """
    content = {key: value for key, value in data.items() if key not in NON_CONTENT_KEYS}
    return content_id_of_json(canonical_json(content))


def content_id_of_json(canonical: str) -> str:
    """``content_id`` from the canonical JSON of the content (already computed)."""
    return "m" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_entry(entry: Any) -> Dict[str, Any]:
    """A shallow copy of ``entry`` after the checks every store applies."""
    if not isinstance(entry, Mapping):
        raise TypeError(f"an entry must be a dict, not {type(entry).__name__}")
    copy = dict(entry)
    for key in copy:
        if not isinstance(key, str):
            raise TypeError(f"entry keys must be strings, not {type(key).__name__} ({key!r})")
    if "tags" in copy:
        copy["tags"] = check_tags(copy["tags"])
    return copy


def check_tags(tags: Any) -> List[str]:
    if isinstance(tags, (str, bytes)) or not isinstance(tags, (list, tuple)):
        raise TypeError(f"tags must be a list of strings, not {type(tags).__name__}")
    for tag in tags:
        if not isinstance(tag, str):
            raise TypeError(f"every tag must be a str, not {type(tag).__name__}")
    return list(tags)


#: The namespace of a store opened without one (and of every entry of a version-1 file).
DEFAULT_NAMESPACE = ""


def check_namespace(value: Any) -> str:
    """A store's namespace: ``None`` (the default one) or a name of 1 to 200 printable characters."""
    if value is None:
        return DEFAULT_NAMESPACE
    if not isinstance(value, str):
        raise TypeError(f"namespace must be a str, not {type(value).__name__}")
    if not value or len(value) > MAX_ID_LENGTH or any(ord(char) < 32 or char == "\x7f" for char in value):
        raise ValueError(f"namespace must have 1 to {MAX_ID_LENGTH} printable characters, not {value!r}")
    return value
