"""The TF-IDF pipelines, with and without the letter's context as extra features."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.models.baselines import RecordField, build_tfidf_pipeline, top_features

# Sentences written for this test: the topic is only in the section heading.
ROWS = [
    {"text": f"Hij sprak over de voortgang {i}.", "section": section, "previous": f"Vooraf {section}.", "next": None}
    for i in range(6)
    for section in ("Westelijke Balkan", "Afghanistan")
]
TOPICS = ["western_balkans" if row["section"] == "Westelijke Balkan" else "afghanistan" for row in ROWS]


def _pipeline(context: str):
    return build_tfidf_pipeline(features="word+char", classifier="svm", C=1.0, class_weight="balanced",
                                word_ngrams=[1, 2], char_ngrams=[2, 4], min_df=1, seed=0, context=context)


def test_record_field_reads_text_section_and_neighbours():
    rows = [{"text": "Zin.", "section": "Rusland", "previous": "Ervoor.", "next": "Erna."}, {"text": "Alleen."}, "Een string."]
    assert RecordField("text").fit(rows).transform(rows) == ["Zin.", "Alleen.", "Een string."]
    assert RecordField("section").transform(rows) == ["Rusland", "", ""]
    assert RecordField("neighbours").transform(rows) == ["Ervoor. | Erna.", "", ""]  # the one context separator
    rows[0].update(annex="VERSLAG", opening="Hierbij bied ik u het verslag aan.")
    assert RecordField("letter").transform(rows) == ["VERSLAG | Hierbij bied ik u het verslag aan.", "", ""]


@pytest.mark.parametrize("context", ["section", "neighbours", "section+neighbours"])
def test_context_is_learnt_when_the_sentence_alone_cannot_tell(context):
    alone = _pipeline("none").fit(ROWS, TOPICS)
    with_context = _pipeline(context).fit(ROWS, TOPICS)
    assert np.mean(with_context.predict(ROWS) == np.array(TOPICS)) == 1.0
    assert np.mean(alone.predict(ROWS) == np.array(TOPICS)) < 1.0
    names = {name for weights in top_features(with_context, n=50).values() for name, _ in weights}
    prefix = "section__" if "section" in context else "neighbours__"
    assert any(name.startswith(prefix) for name in names)


def test_without_context_the_pipeline_is_the_plain_text_one():
    pipeline = _pipeline("none")
    assert list(pipeline.named_steps) == ["text", "features", "classifier"]
    assert [name for name, _ in pipeline.named_steps["features"].transformer_list] == ["word", "char"]


def test_the_letter_context_tells_an_eu_meeting_from_a_nato_one():
    # Written for this test: the same sentence reports an EU Council in one letter, NATO in another.
    openings = {"eu": "Hierbij bied ik u het verslag aan van de Raad Buitenlandse Zaken.",
                "nato": "Hierbij bied ik u het verslag aan van de NAVO-ministeriële."}
    rows = [{"text": f"De ministers bespraken punt {i}.", "opening": openings[actor], "annex": None}
            for i in range(6) for actor in ("eu", "nato")]
    actors = [actor for _ in range(6) for actor in ("eu", "nato")]
    with_letter = _pipeline("letter").fit(rows, actors)
    assert list(with_letter.predict(rows)) == actors
    names = {name for weights in top_features(with_letter, n=20).values() for name, _ in weights}
    assert "letter__navo" in names
