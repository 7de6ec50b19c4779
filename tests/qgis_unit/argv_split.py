"""Splitting a built argv by a program's CLI contract (shared by the fuse and fit argv tests)."""

from __future__ import annotations


def split_argv(
    argv: list[str], head: list[str], valued: set[str], flags_allowed: set[str]
) -> tuple[dict[str, str], set[str], list[str]]:
    """Split ``argv`` into (valued options, flags, positionals after ``--``).

    Fails unless it starts with ``head``, and on an unknown option or a repeated one, so the
    builder cannot emit anything the contract does not define.
    """
    assert argv[: len(head)] == head
    values: dict[str, str] = {}
    flags: set[str] = set()
    rest = argv[len(head) :]
    i = 0
    while i < len(rest):
        token = rest[i]
        if token == "--":
            return values, flags, rest[i + 1 :]
        if token in valued:
            assert token not in values, f"{token} given twice"
            values[token] = rest[i + 1]
            i += 2
        elif token in flags_allowed:
            assert token not in flags, f"{token} given twice"
            flags.add(token)
            i += 1
        else:
            raise AssertionError(f"unexpected token {token!r} in {argv}")
    raise AssertionError(f"no '--' before the inputs in {argv}")
