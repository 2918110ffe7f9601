from __future__ import annotations

import pytest

from toolkit.ingest.hyphens import join_wrapped_lines, keep_line_end_hyphen


@pytest.mark.parametrize(
    "left, right, joined",
    [
        ("verslech", "tering", "verslechtering"),
        ("terughou", "dendheid", "terughoudendheid"),
        ("wapenbe", "heersingsverplichtingen", "wapenbeheersingsverplichtingen"),
        ("verantwoor", "delijk", "verantwoordelijk"),
        ("bijvoor", "beeld", "bijvoorbeeld"),
        ("toetre", "dingstraject", "toetredingstraject"),
        ("staakt-het", "vuren", "staakt-het-vuren"),
        ("(TAA)", "activiteiten", "(TAA)-activiteiten"),
        ("Bosnië", "Herzegovina", "Bosnië-Herzegovina"),
        ("NAVO", "bondgenoten", "NAVO-bondgenoten"),
        ("Duits", "Nederlands", "Duits-Nederlands"),
        ("de", "escalatie", "de-escalatie"),
        ("secretaris", "generaal", "secretaris-generaal"),
        ("Wales", "afspraken", "Wales-afspraken"),
        ("Christen", "Unie", "ChristenUnie"),
        ("Reznik", "ov", "Reznikov"),
        ("Khalil", "zad", "Khalilzad"),
        ("Midden", "Oosten", "Midden-Oosten"),
        ("oud", "minister", "oud-minister"),
    ],
)
def test_line_end_hyphens_are_decided_per_case(left, right, joined):
    assert join_wrapped_lines([f"het {left}-", f"{right} is"]) == f"het {joined} is"
    assert keep_line_end_hyphen(left, right) == (joined == f"{left}-{right}")
