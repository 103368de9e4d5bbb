"""A small OULAD-like directory written by the tests: two modules, 2013J and 2014J, where weak
assessment scores go with failing, so a model has something to find."""

import csv

import numpy as np

MODULES = ("AAA", "BBB")
PRESENTATIONS = ("2013J", "2014J")
ASSESSMENT_DAYS = (20, 50, 80, 110)


def _write(path, header, rows):
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)


def write_oulad(directory, students_per_course=220, seed=0):
    generator = np.random.default_rng(seed)
    info, registrations, assessments, results = [], [], [], []
    assessment_id = 1000
    for module in MODULES:
        for presentation in PRESENTATIONS:
            ids = []
            for day in ASSESSMENT_DAYS:
                assessment_id += 1
                ids.append((assessment_id, day))
                assessments.append([module, presentation, assessment_id, "TMA", day, 25])
            for number in range(students_per_course):
                student = f"{module}{presentation}{number}"
                ability = generator.normal()
                failed = ability + 0.5 * generator.normal() < -0.6
                info.append(
                    [
                        module,
                        presentation,
                        student,
                        "F" if number % 2 else "M",
                        "Scotland",
                        "HE Qualification",
                        "20-30%",
                        "0-35",
                        0,
                        60,
                        "N",
                        "Fail" if failed else ("Distinction" if ability > 1.5 else "Pass"),
                    ]
                )
                registrations.append([module, presentation, student, -int(generator.integers(1, 100)), ""])
                for identifier, day in ids:
                    if generator.random() < (0.5 if failed else 0.95):
                        score = int(np.clip(65 + 15 * ability + 5 * generator.normal(), 0, 100))
                        results.append([identifier, student, day - int(generator.integers(-3, 5)), 0, score])
    _write(
        directory / "studentInfo.csv",
        [
            "code_module",
            "code_presentation",
            "id_student",
            "gender",
            "region",
            "highest_education",
            "imd_band",
            "age_band",
            "num_of_prev_attempts",
            "studied_credits",
            "disability",
            "final_result",
        ],
        info,
    )
    _write(
        directory / "studentRegistration.csv",
        ["code_module", "code_presentation", "id_student", "date_registration", "date_unregistration"],
        registrations,
    )
    _write(
        directory / "assessments.csv",
        ["code_module", "code_presentation", "id_assessment", "assessment_type", "date", "weight"],
        assessments,
    )
    _write(
        directory / "studentAssessment.csv",
        ["id_assessment", "id_student", "date_submitted", "is_banked", "score"],
        results,
    )
    return directory
