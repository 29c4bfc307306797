"""``yizhan user add|list|disable|enable|passwd``: officials' accounts, from the command line only.

The first administrator is made here (``yizhan user add NAME --role admin``); there is no default account and
no default password. Passwords are asked for twice without echo, or read from standard input with
``--password-stdin`` (one line; for scripts), never taken as an argument (it would stay in the shell history).
"""

from __future__ import annotations

import sys

import click

from stations.errors import InputError
from stations.schema import ROLES


def _users(db: str | None):
    from stations.registry import Registry, RegistryError
    from stations.users import Users

    try:
        return Users(Registry(db))
    except RegistryError as exc:
        _fail(str(exc))


def _fail(message: str, code: int = 2):
    click.secho(f"错误 / error: {message}", fg="red", err=True)
    sys.exit(code)


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("password / 密码", hide_input=True, confirmation_prompt=True)


@click.group("user")
def user_cmd():
    """Officials' accounts for the management area (/manage)."""


@user_cmd.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(list(ROLES)), required=True,
              help="admin: everything; editor: stations inside --area; viewer: read only.")
@click.option("--area", default="", help="An editor's prefecture or county adcode (e.g. 530100 昆明市, 530102 五华区).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@click.option("--db", help="SQLAlchemy URL (default: $DATABASE_URL).")
def add(username, role, area, password_stdin, db):
    """Add an account."""
    from stations.users import area_name

    users = _users(db)
    try:
        user = users.add(username, _password(password_stdin), role, area)
    except InputError as exc:
        _fail(str(exc))
    where = f", area {user.area} {area_name(user.area)}" if user.area else ""
    click.echo(f"added {user.username} ({user.role}{where})")


@user_cmd.command("list")
@click.option("--db", help="SQLAlchemy URL (default: $DATABASE_URL).")
def list_cmd(db):
    """List the accounts."""
    from stations.users import area_name

    rows = _users(db).list()
    if not rows:
        click.echo("no accounts yet: yizhan user add NAME --role admin")
        return
    click.echo(f"{'user':<20}{'role':<8}{'area':<22}{'active':<8}")
    for u in rows:
        area = f"{u.area} {area_name(u.area)}" if u.area else "-"
        click.echo(f"{u.username:<20}{u.role:<8}{area:<{22 - sum(1 for ch in area if ord(ch) > 0x2e80)}}{'yes' if u.active else 'no':<8}")


@user_cmd.command("disable")
@click.argument("username")
@click.option("--db", help="SQLAlchemy URL (default: $DATABASE_URL).")
def disable(username, db):
    """Disable an account (it cannot log in; its sessions end)."""
    try:
        _users(db).set_active(username, False)
    except InputError as exc:
        _fail(str(exc))
    click.echo(f"disabled {username}")


@user_cmd.command("enable")
@click.argument("username")
@click.option("--db", help="SQLAlchemy URL (default: $DATABASE_URL).")
def enable(username, db):
    """Enable a disabled account again."""
    try:
        _users(db).set_active(username, True)
    except InputError as exc:
        _fail(str(exc))
    click.echo(f"enabled {username}")


@user_cmd.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@click.option("--db", help="SQLAlchemy URL (default: $DATABASE_URL).")
def passwd(username, password_stdin, db):
    """Set a new password (the account's sessions end)."""
    users = _users(db)
    try:
        users.set_password(username, _password(password_stdin))
    except InputError as exc:
        _fail(str(exc))
    click.echo(f"password of {username} changed")
