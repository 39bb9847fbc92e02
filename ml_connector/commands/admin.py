"""CLI commands for the dashboard's users: `admin add-user NAME`, `admin list-users`, `admin remove-user NAME`.

The password is read from a prompt (not echoed) or, for scripts, from stdin with --password-stdin; never
from an argument, which would land in the process list and the shell history.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from connector import admin_users
from connector.errors import ConfigurationError
from connector.store import admin_auth, audit
from ml_connector.context import Context


def add_user(args: argparse.Namespace, ctx: Context) -> int:
    """Add a dashboard user, or set a new password for one (ending that user's sessions)."""
    svc = ctx.services
    admin_users.check_name(args.name)
    password = _password(args.password_stdin)
    is_new = admin_users.add_user(svc.db, args.name, password)
    what = "added" if is_new else "given a new password"
    audit.record(
        svc.db,
        step="admin",
        event="user_added" if is_new else "password_set",
        message=f"dashboard user {args.name} {what}",
    )
    print(f"dashboard user {args.name} {what}")
    return 0


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ConfigurationError("the two passwords differ; nothing was changed")
    return first


def list_users(_args: argparse.Namespace, ctx: Context) -> int:
    """Every dashboard user, one a line."""
    for name in admin_auth.user_names(ctx.services.db):
        print(name)
    return 0


def remove_user(args: argparse.Namespace, ctx: Context) -> int:
    """Remove a dashboard user and end their sessions."""
    svc = ctx.services
    if not admin_auth.remove_user(svc.db, args.name):
        raise ConfigurationError(f"there is no dashboard user {args.name!r}")
    audit.record(svc.db, step="admin", event="user_removed", message=f"dashboard user {args.name} removed")
    print(f"dashboard user {args.name} removed")
    return 0


def register(sub: Any) -> None:
    """Add `admin add-user|list-users|remove-user` to the `ml-connector` parser."""
    area = sub.add_parser("admin", help="dashboard users").add_subparsers(metavar="ACTION")
    add = area.add_parser("add-user", help="add a dashboard user or set a new password (prompted)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add.set_defaults(handler=add_user)
    area.add_parser("list-users", help="list the dashboard users").set_defaults(handler=list_users)
    remove = area.add_parser("remove-user", help="remove a dashboard user and end their sessions")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=remove_user)
