"""Harbor's ``doublestar`` globs for repository and tag selectors.

``**`` matches anything (slashes included), ``*`` anything but a slash, ``?`` one character
but a slash, ``{a,b}`` either alternative, ``[...]`` a character class. A pattern that does
not compile (an unclosed brace or bracket) matches only itself.
"""

from __future__ import annotations

import functools
import re


class InvalidPattern(ValueError):
    """A selector pattern this module cannot read."""


def _translate(pattern: str) -> str:
    out: list[str] = []
    depth = 0
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "," and depth:
            out.append("|")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise InvalidPattern(f"unclosed [ in {pattern!r}")
            body = pattern[i + 1:end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        elif char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        else:
            out.append(re.escape(char))
        i += 1
    if depth:
        raise InvalidPattern(f"unclosed {{ in {pattern!r}")
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(_translate(pattern), re.DOTALL)
    except re.error as exc:
        raise InvalidPattern(f"invalid pattern {pattern!r}: {exc}") from None


def check_pattern(pattern: str) -> str:
    compile_pattern(pattern)
    return pattern


def matches(pattern: str, text: str) -> bool:
    try:
        return compile_pattern(pattern).fullmatch(text) is not None
    except InvalidPattern:
        return pattern == text
