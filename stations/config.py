"""Paths and settings, read from environment variables with sane defaults.

- ``DATABASE_URL``: SQLAlchemy URL of the registry (default: SQLite file ``var/yizhan.sqlite`` in the
  project directory, or under ``YIZHAN_VAR_DIR`` when set).
- ``YIZHAN_DATA_DIR``: folder holding the geography and the demo registry (default ``data/geo``).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("YIZHAN_DATA_DIR", PROJECT_ROOT / "data" / "geo"))


def var_dir() -> Path:
    path = Path(os.environ.get("YIZHAN_VAR_DIR", PROJECT_ROOT / "var"))
    return path


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{var_dir() / 'yizhan.sqlite'}"


DATA_DIR = data_dir()
