"""Officials: accounts, roles and areas.

Roles (:data:`stations.schema.ROLES`): an **administrator** may do everything; an **editor** is bound to one
prefecture or one county (``area``, its 6-digit adcode) and may change only the stations inside it, judged by
the station's location before and after the change (:meth:`User.covers`, enforced by :mod:`stations.edits`
on the server, never by a form); a **viewer** may look but change nothing.

Passwords are hashed with Argon2id (``argon2-cffi``'s :class:`~argon2.PasswordHasher`, its default
parameters; a hash made with older parameters is replaced at the next successful login). A password has at
least :data:`MIN_PASSWORD` characters. There is no default account and no default password: the first
administrator is made on the command line (``yizhan user add NAME --role admin``).

A user's :attr:`User.session_token` changes when her password changes: the web layer puts it in the session,
so changing a password (or disabling the account) ends every session of hers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import AccessError, InputError
from .schema import ROLES, users_table

MIN_PASSWORD = 10
MAX_PASSWORD = 256
USERNAME = re.compile(r"^[\w.@-]{2,64}$")

_HASHER = PasswordHasher()
# verified against when the user does not exist, so a wrong name costs the same time as a wrong password
_DUMMY_HASH = _HASHER.hash("yizhan: no such user")


@dataclass(frozen=True)
class User:
    """An official (or the command line, :meth:`system`)."""

    id: int | None
    username: str
    role: str
    area: str = ""
    active: bool = True
    password_changed_at: str = ""

    @classmethod
    def system(cls, name: str = "system") -> "User":
        """The command line or the application itself: an administrator that is not an account."""
        return cls(None, name, "admin")

    @property
    def name(self) -> str:
        return self.username

    @property
    def can_edit(self) -> bool:
        return self.active and self.role in ("admin", "editor")

    @property
    def is_admin(self) -> bool:
        return self.active and self.role == "admin"

    @property
    def area_filter(self) -> str | None:
        """The adcode an editor's lists are limited to (None: all of Yunnan)."""
        return self.area if self.role == "editor" else None

    def covers(self, prefecture: str | None, county: str | None) -> bool:
        """May this user change a station located in ``prefecture`` / ``county``?"""
        if not self.can_edit:
            return False
        if self.role == "admin":
            return True
        return bool(self.area) and self.area in (str(prefecture or ""), str(county or ""))

    @property
    def session_token(self) -> str:
        """Changes with the password: a session carrying an older token is no longer valid."""
        return hashlib.sha256(f"{self.id}|{self.password_changed_at}".encode()).hexdigest()[:16]


def area_name(adcode: str, lang: str = "zh") -> str:
    """The prefecture's or county's name (``530100`` -> 昆明市), or the code when it is unknown."""
    from . import geo

    for frame in (geo.load_prefectures(), geo.load_counties()):
        hit = frame[frame["adcode"] == adcode]
        if len(hit):
            return str(hit.iloc[0]["name_en" if lang == "en" else "name_zh"])
    return adcode


def _check_area(role: str, area: str) -> str:
    from . import geo

    area = (area or "").strip()
    if role != "editor":
        if area:
            raise InputError("only an editor is bound to an area; leave the area empty for a %(role)s",
                             param="area", role=role)
        return ""
    if not area:
        raise InputError("an editor needs an area: the adcode of one prefecture or one county (e.g. 530100)",
                         param="area")
    known = set(geo.load_prefectures()["adcode"]) | set(geo.load_counties()["adcode"])
    if area not in known:
        raise InputError("%(area)s is not the adcode of a prefecture or county of Yunnan", param="area", area=area)
    return area


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise InputError("the password must have at least %(n)s characters", param="password", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise InputError("the password must have at most %(n)s characters", param="password", n=MAX_PASSWORD)


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _user(row) -> User:
    return User(int(row["id"]), row["username"], row["role"], row["area"] or "", bool(row["active"]),
                row["password_changed_at"])


class Users:
    """The accounts of a registry (``Users(Registry(url))``)."""

    def __init__(self, registry):
        self.registry = registry
        self.engine = registry.engine

    def add(self, username: str, password: str, role: str, area: str = "") -> User:
        username = (username or "").strip()
        if not USERNAME.match(username):
            raise InputError("a user name has 2-64 letters, digits or . _ @ -", param="username")
        if role not in ROLES:
            raise InputError("unknown role %(role)s (admin, editor or viewer)", param="role", role=role)
        area = _check_area(role, area)
        _check_password(password)
        now = _now()
        with self.registry.write("add user") as conn:
            if conn.execute(sa.select(users_table.c.id).where(users_table.c.username == username)).first():
                raise InputError("a user named %(name)s exists already", param="username", name=username)
            conn.execute(users_table.insert().values(
                username=username, password_hash=_HASHER.hash(password), role=role, area=area, active=True,
                created_at=now, password_changed_at=now))
        return self.get_by_name(username)

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(users_table).order_by(users_table.c.username)).mappings().all()
        return [_user(r) for r in rows]

    def get(self, user_id: int) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users_table).where(users_table.c.id == int(user_id))).mappings().first()
        return _user(row) if row else None

    def get_by_name(self, username: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users_table).where(users_table.c.username == username)).mappings().first()
        return _user(row) if row else None

    def _require(self, username: str) -> User:
        user = self.get_by_name(username)
        if user is None:
            raise InputError("no user named %(name)s", param="username", name=username, status=404)
        return user

    def set_active(self, username: str, active: bool) -> User:
        """Disable (or enable again) an account; a disabled account cannot log in and its sessions end."""
        user = self._require(username)
        with self.registry.write("disable user") as conn:
            conn.execute(users_table.update().where(users_table.c.id == user.id)
                         .values(active=bool(active), password_changed_at=_now()))
        return self._require(username)

    def set_password(self, username: str, password: str) -> User:
        user = self._require(username)
        _check_password(password)
        with self.registry.write("change password") as conn:
            conn.execute(users_table.update().where(users_table.c.id == user.id)
                         .values(password_hash=_HASHER.hash(password), password_changed_at=_now()))
        return self._require(username)

    def authenticate(self, username: str, password: str) -> User:
        """The active user with this name and password; :class:`AccessError` otherwise (one message for a
        wrong name and a wrong password, and the same time spent on both)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users_table).where(users_table.c.username == (username or "").strip())
                               ).mappings().first()
        stored = row["password_hash"] if row else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password or "")
            ok = row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            raise AccessError("wrong user name or password", param="password", status=401)
        if not row["active"]:
            raise AccessError("this account is disabled; ask an administrator", param="username", status=401)
        if _HASHER.check_needs_rehash(stored):
            with self.registry.write("rehash password") as conn:
                conn.execute(users_table.update().where(users_table.c.id == row["id"])
                             .values(password_hash=_HASHER.hash(password)))
        return _user(row)
