import math

import numpy as np
import pytest

from analytics.at_risk import (
    FEATURE_NAMES,
    Assessment,
    AssessmentResult,
    Enrolment,
    at_risk_fit,
    at_risk_flags,
    enrolment_features,
    features_at_cutoff,
    schedule_by_id,
)
from analytics.oulad import OuladError, oulad_evaluate, oulad_read
from tests.analytics.oulad_fixture import write_oulad

SCHEDULE = schedule_by_id(
    [
        Assessment(course="AAA/2013J", assessment_id="1", kind="TMA", due_day=20, weight=20),
        Assessment(course="AAA/2013J", assessment_id="2", kind="CMA", due_day=50, weight=30),
        Assessment(course="AAA/2013J", assessment_id="3", kind="TMA", due_day=90, weight=50),
        Assessment(course="BBB/2013J", assessment_id="9", kind="TMA", due_day=10, weight=50),
    ]
)


def _enrolment(results):
    return Enrolment(
        course="AAA/2013J",
        student="s1",
        profile={
            "gender": "F",
            "region": "Wales",
            "highest_education": "HE Qualification",
            "imd_band": "20-30%",
            "age_band": "0-35",
            "disability": "N",
        },
        numbers={"previous_attempts": 0.0, "studied_credits": 60.0, "registration_day": -30.0},
        results=list(results),
        failed=False,
    )


def test_features_count_what_was_due_submitted_missed_and_late():
    enrolment = _enrolment([AssessmentResult("1", 22, 80.0), AssessmentResult("2", 40, 60.0)])
    features = enrolment_features(enrolment, SCHEDULE, cutoff=60)
    assert set(features) == set(FEATURE_NAMES)
    assert features["course"] == "AAA"
    assert (
        features["assessments_due"],
        features["assessments_submitted"],
        features["assessments_missed"],
    ) == (2, 2, 0)
    assert features["submitted_late"] == 1
    assert (features["score_mean"], features["score_min"], features["score_last"]) == (70, 60, 60)
    assert features["weighted_score"] == pytest.approx((80 * 20 + 60 * 30) / 100)
    assert features["days_early_mean"] == pytest.approx(((20 - 22) + (50 - 40)) / 2)
    assert (features["tutor_marked_mean"], features["computer_marked_mean"]) == (80, 60)


def test_nothing_dated_on_or_after_the_cutoff_changes_the_features():
    before = [AssessmentResult("1", 18, 70.0)]
    baseline = enrolment_features(_enrolment(before), SCHEDULE, cutoff=30)
    late = [*before, AssessmentResult("2", 30, 5.0), AssessmentResult("3", 85, 0.0)]
    with_later_results = enrolment_features(_enrolment(late), SCHEDULE, cutoff=30)
    assert with_later_results == baseline
    # ...while the same result dated before the cutoff does change them: the test can fail.
    earlier = enrolment_features(_enrolment([*before, AssessmentResult("2", 29, 5.0)]), SCHEDULE, cutoff=30)
    assert earlier["score_mean"] != baseline["score_mean"]


def test_the_outcome_is_never_a_feature():
    passed, failed = _enrolment([]), _enrolment([])
    failed.failed = True
    assert enrolment_features(passed, SCHEDULE, 0) == enrolment_features(failed, SCHEDULE, 0)


def test_without_results_the_scores_are_missing_not_zero():
    features = enrolment_features(_enrolment([]), SCHEDULE, cutoff=100)
    assert math.isnan(float(features["score_mean"]))
    assert features["assessments_missed"] == 3


@pytest.fixture(scope="module")
def oulad(tmp_path_factory):
    return oulad_read(write_oulad(tmp_path_factory.mktemp("oulad")))


def test_the_model_learns_from_assessments_and_explains_flagged_students(oulad):
    train = [e for e in oulad.enrolments if e.course.endswith("2013J")]
    rows = features_at_cutoff(train, oulad.assessments, cutoff=120)
    model = at_risk_fit(rows, [bool(e.failed) for e in train])
    risks = model.risks(rows)
    failed = np.array([bool(e.failed) for e in train])
    assert risks[failed].mean() > risks[~failed].mean() + 0.2
    riskiest = int(np.argmax(risks))
    reasons = model.reasons([rows[riskiest]])[0]
    assert 1 <= len(reasons) <= 3
    assert all(reason.risk_increase > 0 for reason in reasons)
    assert reasons == sorted(reasons, key=lambda reason: -reason.risk_increase)
    assert reasons[0].feature in {
        "assessments_submitted",
        "assessments_missed",
        "score_mean",
        "score_min",
        "score_last",
        "weighted_score",
        "tutor_marked_mean",
    }


def test_assessments_make_later_cutoffs_more_accurate(oulad):
    scores = oulad_evaluate(oulad, [0, 120])
    assert [score.cutoff for score in scores] == [0, 120]
    assert scores[0].auc < 0.65  # the fixture's profiles carry no signal
    assert scores[1].auc > 0.8


def test_reading_names_the_missing_file_and_the_bad_line(tmp_path):
    directory = write_oulad(tmp_path, students_per_course=3)
    with pytest.raises(OuladError, match=r"nothing/assessments\.csv: no such file"):
        oulad_read(tmp_path / "nothing")
    lines = (directory / "studentAssessment.csv").read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ",eighty"
    (directory / "studentAssessment.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(OuladError, match=r"studentAssessment\.csv, line 3: 'eighty' is not a number"):
        oulad_read(directory)
    lines[2] = "424242,x,1,0,50"
    (directory / "studentAssessment.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(OuladError, match=r"line 3: unknown assessment 424242"):
        oulad_read(directory)
    (directory / "assessments.csv").write_text("code_module,date\nAAA,1\n")
    with pytest.raises(OuladError, match=r"assessments\.csv, line 1: missing columns"):
        oulad_read(directory)


def test_flags_list_the_students_above_the_threshold_riskiest_first_with_reasons(oulad):
    train = [e for e in oulad.enrolments if e.course.endswith("2013J")]
    rows = features_at_cutoff(train, oulad.assessments, cutoff=120)
    model = at_risk_fit(rows, [bool(e.failed) for e in train])
    flags = at_risk_flags(model, train, rows, threshold=0.5)
    risks = model.risks(rows)
    assert len(flags) == int((risks >= 0.5).sum()) > 0
    assert [flag.risk for flag in flags] == sorted((flag.risk for flag in flags), reverse=True)
    by_student = {e.student: e for e in train}
    flagged_failed = sum(bool(by_student[flag.student].failed) for flag in flags)
    assert flagged_failed / len(flags) > 0.6
    assert all(flag.reasons for flag in flags)
