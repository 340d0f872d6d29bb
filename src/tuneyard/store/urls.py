"""Storage URLs as tuneyard prints or stores them: with the password masked.

A storage URL (`postgresql://user:password@host/db`) reaches errors, hints and
messages; each goes through `mask_secrets` first, the one place that knows how a
password sits in a URL or a connection string. Light: the CLI's error edge uses it.
"""

from __future__ import annotations

import re

MASK = "***"
# scheme://user:password@ - the password runs to the last '@' before the host's path,
# so one holding a raw '@' is masked whole.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):(?P<secret>[^\s/?#]*)@")
# password=... in a URL's query or a libpq connection string.
_KEYWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<secret>'[^']*'|[^&\s;]+)", re.IGNORECASE)


def mask_secrets(text: str) -> str:
    """`text` with every password in a URL or connection string replaced by ***."""
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", str(text))
    return _KEYWORD.sub(lambda m: f"{m['head']}{MASK}", text)


def has_secret(url: str | None) -> bool:
    """Whether masking changes `url`: it holds a password."""
    return bool(url) and mask_secrets(url) != url
