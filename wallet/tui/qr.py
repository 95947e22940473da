"""A QR code of a wallet address drawn with half-block characters (two modules per cell).

The address is encoded upper-case: bech32m is case-insensitive (decoders accept an
all-upper-case address, BIP-173), and upper case fits QR's alphanumeric mode, so a
113-character shielded address fits version 4 (33x33 modules, 18 text rows with the quiet
zone) and the receive screen fits an 80x24 terminal.

The `qrcode` package draws the modules; without it `QrUnavailable` is raised and the
receive screen shows the address alone.
"""

from __future__ import annotations

QUIET_ZONE = 1
"""Light modules around the code; the screen's light background continues it."""

_CELLS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


class QrUnavailable(Exception):
    """The `qrcode` package is not installed."""


def qr_modules(text: str) -> list[list[bool]]:
    """The QR code's module matrix (True = dark), quiet zone included."""
    try:
        import qrcode
        from qrcode.constants import ERROR_CORRECT_L
    except ImportError as error:
        raise QrUnavailable("install the `qrcode` package to show QR codes") from error
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_L, border=QUIET_ZONE)
    code.add_data(text.upper())
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def qr_lines(text: str) -> list[str]:
    """The QR code as text rows, each cell showing an upper and a lower module; draw it
    dark-on-light (the dark modules are the characters' foreground)."""
    modules = qr_modules(text)
    if len(modules) % 2:
        modules.append([False] * len(modules[0]))
    return [
        "".join(_CELLS[(top, bottom)] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(modules[::2], modules[1::2], strict=True)
    ]
