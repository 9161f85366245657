"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, collecting what it receives."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"
SENDER = "Clinic <clinic@example.com>"  # MAIL_DEFAULT_SENDER of apps that send to this server


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class _Collector:
    """aiosmtpd handler: parse every message received and keep it."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        with self.lock:
            self.messages.append(parsed)
        return "250 Message accepted for delivery"


class SMTPServer:
    """An SMTP server on a fixed free port that can be stopped and started again."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._collector = _Collector()
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        """Return a copy of the messages received so far, oldest first."""
        with self._collector.lock:
            return list(self._collector.messages)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen on the port; a new controller each time, since a stopped one cannot restart."""
        if self._controller is None:
            controller = Controller(self._collector, hostname=HOST, port=self.port)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until start() is called."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self._collector.lock:
            self._collector.messages.clear()
