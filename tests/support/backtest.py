"""Checks of the backtest report page shared by the tiers: every plot inline as a PNG, nothing fetched."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

from momentum.backtest import PLOTS


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: dict[str, str] = {}
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images[attrs["id"]] = attrs["src"]
        self.links += [
            v for k, v in attrs.items() if k in ("src", "href") and v and not v.startswith("data:")
        ]


def assert_png(payload: bytes) -> None:
    import matplotlib.image

    assert payload[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(io.BytesIO(payload)).shape
    assert height > 200 and width > 400


def assert_report(page: str) -> None:
    parser = _Images()
    parser.feed(page)
    assert sorted(parser.images) == sorted(f"plot-{name}" for name in PLOTS)
    for src in parser.images.values():
        assert src.startswith("data:image/png;base64,")
        assert_png(base64.b64decode(src.split(",", 1)[1]))
    assert parser.links == []  # self-contained: opens offline
