"""Building blocks of fake credentials, shared by both generator modes.

Only formats live here (alphabets, random strings, checksummed tokens, JWT segments, PEM armour): which values are
planted, in which syntax and where stays each mode's own, so mode B remains held out from mode A's tuning.
Every value comes from the caller's seeded RNG; the order of RNG calls is part of a corpus's identity.
"""

import base64
import json
import string
import zlib

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"
B64 = string.ascii_letters + string.digits + "+/"
B64URL = string.ascii_letters + string.digits + "-_"
BASE32 = string.ascii_uppercase + "234567"


def rs(rng, alphabet, n):
    """`n` characters drawn from `alphabet`."""
    return "".join(rng.choice(alphabet) for _ in range(n))


def base62(n):
    digits = string.digits + string.ascii_uppercase + string.ascii_lowercase
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = digits[r] + out
    return out or "0"


def checksummed(rng, prefix):
    """GitHub/npm style token: prefix + 30 random base62 + 6-char base62 CRC32 of the random part."""
    body = rs(rng, ALNUM, 30)
    return prefix + body + base62(zlib.crc32(body.encode())).rjust(6, "0")


def b64url_json(obj):
    """A JWT segment: compact JSON, unpadded base64url."""
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()


def pem(rng, label, der_prefix, body_len):
    """A PEM block whose body starts with a real DER prefix and is random base64 up to `body_len` characters."""
    body = der_prefix + rs(rng, B64, body_len - len(der_prefix))
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----" % (label, "\n".join(lines), label)
