"""Settings: every environment variable yizhan reads, declared once with its default and meaning.

:data:`SETTINGS` is the one table (the README's configuration table is checked against it by a test);
:func:`settings` returns the values as a frozen :class:`Settings`. No other module reads ``os.environ``.

The environment is read when :func:`settings` is first called and again only when one of the declared
variables has changed since (a dozen dictionary look-ups per call), so a test that sets a variable sees it
and a server that never changes its environment reads it once. Code that needs a setting calls
``settings().name``; the app factory and the CLI pass values on from there.

Paths: :data:`PROJECT_ROOT` is the checkout (or the installed tree); ``data_dir`` holds the geography and
the demo registry, ``var_dir`` what yizhan writes (the default SQLite registry, caches, finished atlases).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    """One environment variable: its attribute name on :class:`Settings`, variable name, default (a value
    or a callable of the settings read so far), parser and help text."""

    name: str
    env: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise ValueError(f"YIZHAN_PORT must be 1-65535, got {text}")
    return value


def _on_off(text: str) -> bool:
    value = text.lower()
    if value not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
        raise ValueError(f"must be on or off, got {text}")
    return value in ("on", "1", "true", "yes")


def _jobs_mode(text: str) -> str:
    value = text.lower()
    if value not in ("queue", "inline"):
        raise ValueError(f"YIZHAN_JOBS must be queue or inline, got {text}")
    return value


#: every setting, in the order the README lists them
SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "DATABASE_URL", lambda s: f"sqlite:///{s['var_dir'] / 'yizhan.sqlite'}",
            "SQLAlchemy URL of the registry (default: `sqlite:///` + `YIZHAN_VAR_DIR/yizhan.sqlite`; "
            "PostgreSQL URLs work the same way)", secret=True),
    Setting("var_dir", "YIZHAN_VAR_DIR", PROJECT_ROOT / "var",
            "where the default SQLite file, caches and finished atlases live (default `var/`)", Path),
    Setting("data_dir", "YIZHAN_DATA_DIR", PROJECT_ROOT / "data" / "geo",
            "geography, census and the demo station file (default `data/geo/`)", Path),
    Setting("host", "YIZHAN_HOST", "127.0.0.1", "`yizhan serve` / `make run` address"),
    Setting("port", "YIZHAN_PORT", 8000, "`yizhan serve` / `make run` port", _port),
    Setting("tiles", "YIZHAN_TILES", "auto",
            "base map tiles: `auto` (Tianditu when `TIANDITU_KEY` is set, else the drawn base map; see "
            "\"Base map\" below), `osm`, `amap` (高德, GCJ-02: markers and outlines are shifted to sit on its "
            "streets), `tianditu` (needs `TIANDITU_KEY`), `none` (the drawn base map), or a "
            "`https://…/{z}/{x}/{y}.png` template"),
    Setting("tianditu_key", "TIANDITU_KEY", "", "Tianditu key; without it `tianditu` falls back to no tiles",
            secret=True),
    Setting("producer", "YIZHAN_PRODUCER", "云南省总工会（示例）", "producer line on printed sheets"),
    Setting("rate_limit_storage", "YIZHAN_RATE_LIMIT_STORAGE", "memory://",
            "where the per-client rate limits count: `memory://` (each web process on its own) or a shared "
            "store such as `redis://host:6379/1` for several web processes or machines"),
    Setting("rate_limits", "YIZHAN_RATE_LIMITS", True,
            "per-client rate limits on the heavy endpoints: `on` (default) or `off` (benchmarks, a private "
            "installation behind its own limits)", _on_off),
    Setting("jobs", "YIZHAN_JOBS", "queue",
            "where heavy requests (sheets, atlases, recommendations, what-ifs, uploads) run: `queue` (worker "
            "processes of `yizhan worker`, started by `yizhan serve`) or `inline` (in the web request: tests, "
            "embedding)", _jobs_mode),
    Setting("queue_url", "YIZHAN_QUEUE_URL", "",
            "the job queue's store: empty for SQLite in `YIZHAN_VAR_DIR/jobs.sqlite` (one machine), or "
            "`redis://host:6379/0` when web and worker processes run on several machines"),
    Setting("workers", "YIZHAN_WORKERS", 2, "worker processes of `yizhan worker` / `yizhan serve`", int),
    Setting("worker_nice", "YIZHAN_WORKER_NICE", 10,
            "how much lower the worker processes' CPU priority is than the web processes' (0-19)", int),
    Setting("cjk_font", "YIZHAN_CJK_FONT", "",
            "a .ttf/.otf/.ttc font with Simplified Chinese glyphs for printed sheets (default: Noto Sans CJK "
            "from `fonts-noto-cjk`)"),
    Setting("secret_key", "YIZHAN_SECRET_KEY", "",
            "key that signs session cookies and keys the hash of reporters' addresses; without it one is "
            "generated into `YIZHAN_VAR_DIR/secret_key` (mode 600) on first start. Several server processes "
            "must share it", secret=True),
)


@dataclass(frozen=True)
class Settings:
    """The values of :data:`SETTINGS` (attribute names as there)."""

    database_url: str
    var_dir: Path
    data_dir: Path
    host: str
    port: int
    tiles: str
    tianditu_key: str
    producer: str
    rate_limit_storage: str
    rate_limits: bool
    jobs: str
    queue_url: str
    workers: int
    worker_nice: int
    cjk_font: str
    secret_key: str

    def public(self) -> dict[str, Any]:
        """The settings with secrets masked (for logs and ``yizhan settings``)."""
        out = {}
        for s in SETTINGS:
            value = getattr(self, s.name)
            if s.secret and value:
                value = _mask(s.name, value)
            out[s.env] = value
        return out


def _mask(name: str, value: str) -> str:
    if name == "database_url":
        from sqlalchemy.engine import make_url

        try:
            return make_url(value).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - an unparsable URL: show nothing of it
            return "***"
    return "***"


assert [f.name for f in fields(Settings)] == [s.name for s in SETTINGS], "Settings and SETTINGS disagree"

_LOCK = threading.Lock()
_CACHE: tuple[tuple, Settings] | None = None


def _read(environ) -> Settings:
    values: dict[str, Any] = {}
    for s in SETTINGS:
        raw = environ.get(s.env)
        if raw is not None and raw.strip() != "":
            try:
                values[s.name] = s.parse(raw.strip())
            except ValueError as exc:
                raise ValueError(f"environment variable {s.env}: {exc}") from None
        elif not callable(s.default) or isinstance(s.default, type):
            values[s.name] = s.default
    for s in SETTINGS:  # defaults that depend on other settings (the SQLite file under var_dir)
        if s.name not in values:
            values[s.name] = s.default(values)
    return Settings(**values)


def settings() -> Settings:
    """The current settings (re-read only when a declared environment variable changed)."""
    global _CACHE
    key = tuple(os.environ.get(s.env) for s in SETTINGS)
    cached = _CACHE
    if cached is not None and cached[0] == key:
        return cached[1]
    with _LOCK:
        value = _read(os.environ)
        _CACHE = (key, value)
    return value


# The three accessors the rest of the code has always used, kept as thin views of the settings.
def data_dir() -> Path:
    return settings().data_dir


def var_dir() -> Path:
    return settings().var_dir


def database_url() -> str:
    return settings().database_url


def secret_key() -> str:
    """``YIZHAN_SECRET_KEY``, or the key kept in ``var_dir/secret_key`` (generated there on first use with
    :func:`secrets.token_hex`, readable by the owner only), never a key from the repository."""
    given = settings().secret_key
    if given:
        return given
    import secrets

    path = var_dir() / "secret_key"
    with _LOCK:
        try:
            key = path.read_text(encoding="ascii").strip()
            if len(key) >= 32:
                return key
        except OSError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        tmp = path.with_name(f".secret_key.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key + "\n")
        try:
            os.link(tmp, path)  # first writer wins: another process may have made one meanwhile
        except FileExistsError:
            key = path.read_text(encoding="ascii").strip()
        finally:
            os.unlink(tmp)
        return key
