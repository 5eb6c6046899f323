"""Token authentication for the API: DRF's ``TokenAuthentication`` with a leaner credential lookup.

DRF looks the key up with ``Token.objects.select_related("user").get(key=key)``; compiling that ORM
query costs more than running it, on every authenticated API request (a forecast's largest cost after
its own transaction). Here the same join is one fixed SQL statement built once from the models'
metadata, and the user is built with ``Model.from_db`` (on PostgreSQL, whose driver already returns
Python values; other databases keep DRF's lookup). The behaviour and the error messages are DRF's.
"""
from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


@cache
def _lookup() -> tuple[str, tuple[str, ...]]:
    """(SQL selecting the token's user by key, the user's field attnames in column order)."""
    user_model = get_user_model()
    fields = user_model._meta.concrete_fields
    qn = connection.ops.quote_name
    columns = ", ".join(f"u.{qn(f.column)}" for f in fields)
    token_user = Token._meta.get_field("user").column
    sql = (f"SELECT {columns} FROM {qn(Token._meta.db_table)} t "
           f"JOIN {qn(user_model._meta.db_table)} u ON u.{qn(user_model._meta.pk.column)} = t.{qn(token_user)} "
           f"WHERE t.{qn(Token._meta.pk.column)} = %s")
    return sql, tuple(f.attname for f in fields)


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``; DRF semantics, one cheap query."""

    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
        if connection.vendor != "postgresql":  # other drivers return raw column values (SQLite: text
            return super().authenticate_credentials(key)  # datetimes), which need the ORM's converters
        sql, attnames = _lookup()
        import psycopg

        connection.ensure_connection()
        with connection.wrap_database_errors:  # a server-side-bound, prepared statement (once per connection)
            row = psycopg.Cursor(connection.connection).execute(sql, [key], prepare=True).fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = get_user_model().from_db(connection.alias, list(attnames), list(row))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = Token(key=key, user=user)
        token._state.adding, token._state.db = False, connection.alias
        return user, token
