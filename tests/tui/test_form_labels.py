"""The form's labels have a box fixed by the stylesheet (wizard.tcss ``.form-label``: 24 columns with
one of padding each side, the row's 3 lines with one of padding on top), so F2 re-words them without
laying the form out again (issue 11 §3, tui_day). That holds only while every label's words fit that
box in every language: here they are wrapped as the label wraps them."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.text import Text

from kiosk.i18n import LANGUAGES, translate
from kiosk.identity import Identity
from kiosk.tui.screens.enroll_form import FIELDS

#: the label's text area: 24 columns less the padding, 3 lines less the padding
LABEL_COLUMNS = 22
LABEL_LINES = 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_form_label_fits_its_fixed_box(language: str) -> None:
    console = Console(width=LABEL_COLUMNS)
    for name, kind, _ in FIELDS:
        mark = " *" if name in Identity.REQUIRED or kind == "date" else ""
        words = translate("tui.field." + name, language) + mark
        lines = Text(words).wrap(console, LABEL_COLUMNS)
        assert len(lines) <= LABEL_LINES, (language, name, words)
