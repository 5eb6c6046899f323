"""Token authentication for the API: DRF's ``TokenAuthentication`` with one leaner credential lookup.

DRF looks the key up with ``Token.objects.select_related("user").get(key=key)``; compiling that ORM
query costs more than running it, on every authenticated API request (a forecast's largest cost after
its own transaction). Here the ORM compiles the user-by-token query once per database connection
alias; each request runs that SQL and applies the ORM's own value converters (the same for every
database). On PostgreSQL the statement is prepared server-side once per connection. The behaviour and
the error messages are DRF's; this is the project's only token lookup.
"""
from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connections
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

_KEY = "key-placeholder"


@cache
def _lookup(alias: str) -> tuple[str, tuple[str, ...], object, dict]:
    """(SQL selecting the token's user by key, the selected attnames, the compiler, its converters),
    compiled once from ``User.objects.filter(auth_token__key=…)``."""
    user_model = get_user_model()
    token_name = Token._meta.get_field("user").remote_field.name  # the reverse accessor: auth_token
    query = user_model._base_manager.filter(**{f"{token_name}__key": _KEY}).query
    compiler = query.get_compiler(alias)
    sql, params = compiler.as_sql()
    if list(params) != [_KEY]:
        raise RuntimeError(f"unexpected parameters in the token lookup: {params!r}")
    columns = [col for col, _, _ in compiler.select]
    attnames = tuple(col.target.attname for col in columns)
    return sql, attnames, compiler, compiler.get_converters(columns)


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``; DRF semantics, one cheap query."""

    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
        alias = Token.objects.db
        connection = connections[alias]
        sql, attnames, compiler, converters = _lookup(alias)
        connection.ensure_connection()
        if connection.vendor == "postgresql":  # a server-side-bound, prepared statement (once per connection)
            import psycopg

            with connection.wrap_database_errors:
                row = psycopg.Cursor(connection.connection).execute(sql, [key], prepare=True).fetchone()
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, [key])
                row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if converters:
            row = next(iter(compiler.apply_converters([row], converters)))
        user = get_user_model().from_db(alias, list(attnames), list(row))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = Token(key=key, user=user)
        token._state.adding, token._state.db = False, alias
        return user, token
