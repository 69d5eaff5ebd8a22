"""Evolis panel data: card images as the ``Db`` panel downloads of guide A5013, and commands.

Reference: Evolis Programming Guide A5013 (dpavlin/Printer-EVOLIS ``docs/``): a panel is 1016
head lines of 648 dots; ``Db;<panel>;<levels>;<data>`` carries ``648 * 1016 * bits / 8`` bytes
(1 bit per dot for ``k``/``o`` at 2 levels, 7 bits for ``y``/``m``/``c`` at 128 levels, packed
MSB-first); Y = 255 - blue, M = 255 - green, C = 255 - red (Evolis's GPL CUPS filter
``rastertoevolis``), the overlay filled with 0xFF for a full varnish.
"""

from __future__ import annotations

import numpy as np

ESC, CR = b"\x1b", b"\r"
#: head lines along the card's long side and dots per line (CR80 at 300 dpi, as the filter uses)
PANEL_LINES, PANEL_DOTS = 1016, 648
#: card image size the driver takes (width x height, landscape)
CARD_SIZE = (PANEL_LINES, PANEL_DOTS)
LEVEL_BITS = {2: 1, 32: 5, 64: 6, 128: 7, 256: 8}

def command(name: str, *params: str | int) -> bytes:
    return ESC + ";".join([name, *map(str, params)]).encode("ascii") + CR


def head_order(plane: np.ndarray) -> np.ndarray:
    """A 648 x 1016 card plane (rows top->bottom) as 1016 head lines of 648 dots."""
    return np.ascontiguousarray(plane[::-1, :].T)


def pack_levels(values: np.ndarray, bits: int) -> bytes:
    """8-bit values -> their top ``bits`` bits, packed MSB-first (the Db data format).

    Eight values of ``bits`` bits fill exactly ``bits`` bytes, so each group of eight is shifted
    into one 64-bit word and its low ``bits`` bytes are written big-endian.
    """
    flat = values.reshape(-1).astype(np.uint8) >> (8 - bits)
    pad = (-len(flat)) % 8
    if pad:
        flat = np.concatenate([flat, np.zeros(pad, np.uint8)])
    groups = flat.reshape(-1, 8).astype(np.uint64)
    shifts = (np.arange(7, -1, -1, dtype=np.uint64) * np.uint64(bits))
    words = np.bitwise_or.reduce(groups << shifts, axis=1)
    packed = words.astype(">u8").view(np.uint8).reshape(-1, 8)[:, 8 - bits:]
    data = packed.tobytes()
    return data[: (len(values.reshape(-1)) * bits + 7) // 8]


def split_panels(rgb: np.ndarray, *, black_threshold: int = 60) -> dict[str, np.ndarray]:
    """RGB card image (648 x 1016 x 3) -> Y, M, C densities and K (resin black) mask, 0..255.

    Near-black pixels go to the resin K panel (sharp text, as the filter does for pure black)
    and get no dye under them; everything else is dye-sublimated from Y, M, C.
    """
    rgb = np.asarray(rgb, dtype=np.uint8)
    black = rgb.max(axis=2) < black_threshold
    y, m, c = (255 - rgb[..., 2]), (255 - rgb[..., 1]), (255 - rgb[..., 0])
    for plane in (y, m, c):
        plane[black] = 0
    return {"y": y, "m": m, "c": c, "k": np.where(black, 255, 0).astype(np.uint8)}


def panel_command(panel: str, plane: np.ndarray, levels: int) -> bytes:
    """``ESC Db;<panel>;<levels>;<packed data> CR`` for one 648 x 1016 plane."""
    data = pack_levels(head_order(plane), LEVEL_BITS[levels])
    return ESC + f"Db;{panel};{levels};".encode() + data + CR


def card_job_panels(front: np.ndarray, back: np.ndarray | None, ribbon: str, levels: int = 128) -> list[tuple[str, bytes]]:
    """(label, Db command) for every panel of one card with this ribbon."""
    out: list[tuple[str, bytes]] = []
    full = np.full((PANEL_DOTS, PANEL_LINES), 255, np.uint8)
    panels = split_panels(front)
    if ribbon.startswith("YMC"):
        for p in "ymc":
            out.append((f"front-{p}", panel_command(p, panels[p], levels)))
        out.append(("front-k", panel_command("k", panels["k"], 2)))
        out.append(("front-o", panel_command("o", full, 2)))
    else:  # monochrome ribbons: black (and overlay) only
        grey = np.asarray(front, dtype=np.uint8).mean(axis=2)
        out.append(("front-k", panel_command("k", np.where(grey < 128, 255, 0).astype(np.uint8), 2)))
        if "O" in ribbon:
            out.append(("front-o", panel_command("o", full, 2)))
    if back is not None:
        grey = np.asarray(back, dtype=np.uint8).mean(axis=2)
        out.append(("back-k", panel_command("k", np.where(grey < 128, 255, 0).astype(np.uint8), 2)))
    return out


def fit_card(image: np.ndarray) -> np.ndarray:
    """Resize an RGB image to the printer's 1016 x 648 panel size if it is not already."""
    arr = np.asarray(image, dtype=np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.shape[:2] == (PANEL_DOTS, PANEL_LINES):
        return arr[..., :3]
    from PIL import Image

    return np.asarray(Image.fromarray(arr[..., :3]).resize(CARD_SIZE, Image.Resampling.LANCZOS))
