"""Protocols A–H. Importing the package imports (and so registers) every module in it."""
import importlib
import pkgutil

from experiments.protocols.base import (
    PROTOCOLS,
    Protocol,
    ProtocolConfig,
    Result,
    get_protocol,
    register_protocol,
)

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["PROTOCOLS", "Protocol", "ProtocolConfig", "Result", "get_protocol", "register_protocol"]
