import re
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from tests.analytics.oulad_fixture import write_oulad
from tests.analytics.test_knowledge_tracing import TRUE_PARAMETERS, _simulate


def _write_dkt3(path, sequences, skills):
    lines = []
    for responses, skill in zip(sequences, skills, strict=True):
        lines += [
            str(len(responses)),
            ",".join([str(skill)] * len(responses)),
            ",".join(str(int(r)) for r in responses),
        ]
    path.write_text("\n".join(lines) + "\n")


def _write_long(path, sequences, skills):
    rows = ["student_id,skill_id,correct,order"]
    for student, (responses, skill) in enumerate(zip(sequences, skills, strict=True)):
        rows += [f"s{student},{skill},{int(r)},{order}" for order, r in enumerate(responses)]
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize(("log_format", "writer"), [("dkt3", _write_dkt3), ("long", _write_long)])
def test_kt_eval_prints_auc_and_rmse(tmp_path, log_format, writer):
    writer(tmp_path / "train.csv", *_simulate(TRUE_PARAMETERS, students=150, seed=1))
    writer(tmp_path / "test.csv", *_simulate(TRUE_PARAMETERS, students=150, seed=2))
    output = StringIO()
    call_command(
        "kt_eval",
        "--train",
        tmp_path / "train.csv",
        "--test",
        tmp_path / "test.csv",
        "--format",
        log_format,
        stdout=output,
    )
    lines = output.getvalue().splitlines()
    assert re.fullmatch(r"train \d+ responses, test \d+ responses", lines[0])
    assert lines[1].split() == ["variant", "AUC", "RMSE"]
    name, auc, rmse = lines[2].split()
    assert name == "forgetting"
    assert 0.7 < float(auc) <= 1
    assert 0 < float(rmse) < 0.5


def test_kt_eval_names_the_malformed_file_and_line(tmp_path):
    (tmp_path / "train.csv").write_text("2\n1,1\n0,1\n")
    (tmp_path / "test.csv").write_text("2\n1,1\n0,1\n2\n1\n0,1\n")
    with pytest.raises(CommandError, match=r"test\.csv, line 4"):
        call_command(
            "kt_eval", "--train", tmp_path / "train.csv", "--test", tmp_path / "test.csv", "--format", "dkt3"
        )


def test_kt_eval_all_variants(tmp_path):
    generator = np.random.default_rng(0)
    sequences = [generator.integers(0, 2, 12).astype(float) for _ in range(40)]
    _write_dkt3(tmp_path / "a.csv", sequences, [1] * 20 + [2] * 20)
    output = StringIO()
    call_command(
        "kt_eval",
        "--train",
        tmp_path / "a.csv",
        "--test",
        tmp_path / "a.csv",
        "--format",
        "dkt3",
        "--variant",
        "all",
        stdout=output,
    )
    assert [line.split()[0] for line in output.getvalue().splitlines()[2:]] == [
        "plain",
        "restarts",
        "forgetting",
        "individualised",
    ]


def test_atrisk_eval_prints_the_auc_per_cutoff(tmp_path):
    write_oulad(tmp_path)
    output = StringIO()
    call_command("atrisk_eval", "--oulad", tmp_path, "--cutoffs", "0,60,120", stdout=output)
    lines = output.getvalue().splitlines()
    assert lines[0] == "train 440 enrolments (2013J), test 440 (2014J)"
    assert lines[1].split() == ["cutoff_day", "AUC"]
    table = [line.split() for line in lines[2:]]
    assert [row[0] for row in table] == ["0", "60", "120"]
    assert all(0 <= float(row[1]) <= 1 for row in table)
    assert float(table[2][1]) > float(table[0][1])


@pytest.mark.parametrize(("cutoffs", "message"), [("0,x", "comma-separated whole days"), ("-5", "negative")])
def test_atrisk_eval_refuses_bad_cutoffs(tmp_path, cutoffs, message):
    with pytest.raises(CommandError, match=message):
        call_command("atrisk_eval", "--oulad", tmp_path, "--cutoffs", cutoffs)


def test_atrisk_eval_names_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match=r"assessments\.csv: no such file"):
        call_command("atrisk_eval", "--oulad", tmp_path)
