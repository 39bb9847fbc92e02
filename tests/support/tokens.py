"""Exact tokens made by hand, and an OAuth stand-in that answers refreshes from a script."""

from __future__ import annotations

from typing import Any

from connector.exact.tokens import ExactTokens


def tokens(n: int, issued_at: float = 1000.0, lifetime: float = 600) -> ExactTokens:
    """The n-th pair of tokens, issued at `issued_at`."""
    return ExactTokens(f"access-{n}", f"refresh-{n}", issued_at, issued_at + lifetime)


class ScriptedOAuth:
    """Stands in for ExactOAuth: answers refreshes from a script and records what it was sent."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.sent: list[str] = []

    def refresh(self, refresh_token: str) -> ExactTokens:
        self.sent.append(refresh_token)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
