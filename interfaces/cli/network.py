"""Checks of the network before ``serve`` starts anything."""

from __future__ import annotations

import errno
import socket

from interfaces.cli.failure import CannotListen


def check_port_free(host: str, port: int) -> None:
    """Raise CannotListen when ``host:port`` is in use or cannot be listened on at all.

    Bound the way uvicorn binds (SO_REUSEADDR), so a port in TIME_WAIT counts as free.
    """
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise CannotListen(host, port, error.strerror) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CannotListen(host, port) from None
            raise CannotListen(host, port, error.strerror) from None
