import pytest

from analytics.response_logs import ResponseLogError, response_log_read


def test_dkt3_is_read_student_by_student(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("3\n7,7,9,\n0,1,1,\n1\n9\n0\n")
    log = response_log_read(path, "dkt3")
    assert log.student.tolist() == [0, 0, 0, 1]
    assert log.skill.tolist() == [7, 7, 9, 9]
    assert log.correct.tolist() == [0.0, 1.0, 1.0, 0.0]


def test_long_is_ordered_within_each_student(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("student_id,skill_id,correct,order\ns2,4,1,2\ns1,3,0,5\ns2,4,0,1\ns1,3,1,1\n")
    log = response_log_read(path, "long")
    assert log.student.tolist() == [0, 0, 1, 1]
    assert log.correct.tolist() == [1.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("log_format", "text", "line"),
    [
        ("dkt3", "2\n7,7\n0,1\n2\n7,x\n0,1\n", "line 5"),
        ("dkt3", "3\n7,7\n0,1\n", "line 1"),
        ("dkt3", "2\n7,7\n0,2\n", "line 3"),
        ("dkt3", "2\n7,7\n0,1\n1\n", "line 4"),
        ("long", "student,skill,correct,order\n", "line 1"),
        ("long", "student_id,skill_id,correct,order\na,1,1,1\nb,1,1\n", "line 3"),
        ("long", "student_id,skill_id,correct,order\na,1,yes,1\n", "line 2"),
        ("long", "student_id,skill_id,correct,order\na,1,,1\n", "line 2"),
    ],
)
def test_a_malformed_line_is_named_with_its_file(tmp_path, log_format, text, line):
    path = tmp_path / "broken.csv"
    path.write_text(text)
    with pytest.raises(ResponseLogError, match=rf"broken\.csv, {line}\b"):
        response_log_read(path, log_format)


def test_a_missing_or_empty_file_is_named(tmp_path):
    with pytest.raises(ResponseLogError, match=r"nothing\.csv: no such file"):
        response_log_read(tmp_path / "nothing.csv", "dkt3")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ResponseLogError, match=r"empty\.csv: no responses"):
        response_log_read(tmp_path / "empty.csv", "dkt3")
