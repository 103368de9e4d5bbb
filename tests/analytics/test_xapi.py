from datetime import timedelta

import pytest

from analytics.xapi import (
    StatementError,
    actor_parse,
    result_parse,
    statement_parse,
    timestamp_parse,
    verb_parse,
)


def test_a_full_statement_is_parsed():
    statement = statement_parse(
        {
            "actor": {"mbox": "mailto:ada@school.edu"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/scored"},
            "object": {
                "id": "https://lms/assignment/7",
                "definition": {"type": "https://x/activities/assessment"},
            },
            "result": {"score": {"scaled": 0.8}},
            "timestamp": "2026-03-02T09:30:00+01:00",
        }
    )
    assert (statement.actor.email, statement.verb, statement.object_type) == (
        "ada@school.edu",
        "graded",
        "assessment",
    )
    assert statement.result_score == 0.8
    assert statement.timestamp.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("result", "score"),
    [
        (None, None),
        ({"success": True}, 1.0),
        ({"success": False}, 0.0),
        ({"score": {"raw": 7, "max": 10}}, 0.7),
        ({"score": {"raw": 15, "min": 10, "max": 20}}, 0.5),
    ],
)
def test_scores_are_scaled_to_the_unit_interval(result, score):
    expected = None if score is None else pytest.approx(score)
    assert result_parse(result) == expected


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ({"score": {"scaled": -0.5}}, "between 0 and 1"),
        ({"score": {"raw": 11, "max": 10}}, "between 0 and 1"),
        ({"score": {"raw": 1, "min": 5, "max": 5}}, "above"),
        ({"score": {"scaled": "high"}}, "number"),
        ({"score": {"raw": 3}}, "needs scaled"),
        ("full marks", "must be an object"),
    ],
)
def test_bad_scores_are_rejected_with_the_reason(result, reason):
    with pytest.raises(StatementError, match=reason):
        result_parse(result)


@pytest.mark.parametrize("actor", [{}, {"mbox": "ada@school.edu"}, {"account": {"name": ""}}, "ada"])
def test_an_actor_needs_a_mailbox_or_an_account_name(actor):
    with pytest.raises(StatementError, match="actor"):
        actor_parse(actor)


def test_unknown_verbs_and_naive_or_invalid_timestamps_are_rejected():
    with pytest.raises(StatementError, match="not one the event log records"):
        verb_parse({"id": "http://adlnet.gov/expapi/verbs/voided"})
    for value in ("2026-03-02T09:30:00", "2026-13-02T09:30:00Z", 12):
        with pytest.raises(StatementError, match="timestamp"):
            timestamp_parse(value)
