"""The `classops` command: validate and plan, called in-process and once as the installed script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import icalendar
import pytest

from shared.cli.main import main

from .helpers import FALL, REPO

SCHEDULE = str(REPO / "schedules.yaml")


def test_validate_ok_is_one_line(capsys):
    assert main(["validate", "--schedule", SCHEDULE]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith(f"OK {SCHEDULE}: cs101 fall-2026")


def test_validate_prints_every_problem_and_exits_1(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(FALL.replace("size: 200", "size: lots") + "meetngs: []\n")
    assert main(["validate", "--schedule", str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0] == f"{bad}:8:9: class.size: is 'lots', expected a whole number >= 1"
    # Capabilities register sections of their own, so the list of known ones grows: assert on
    # the place and the hint, not on the full listing.
    assert lines[1].startswith(f"{bad}:14:1: meetngs: unknown section, expected one of ")
    assert lines[1].endswith("; did you mean 'meetings'?")


def test_plan_json_shape(capsys):
    code = main(["-o", "json", "plan", "--schedule", SCHEDULE, "--from", "2026-10-21",
                 "--to", "2026-10-21"])
    captured = capsys.readouterr()
    assert code == 0
    assert "no cluster: assuming 240 students, nobody running" in captured.err
    plan = json.loads(captured.out)
    assert [set(entry) for entry in plan] == [
        {"at", "type", "subject", "id", "data", "actions"}] * len(plan)
    assert all(entry["actions"] == [] for entry in plan)
    midterm = [e for e in plan if e["data"].get("meeting") == "midterm"]
    assert [(e["type"], e["at"]) for e in midterm] == [
        ("edu.classops.meeting.warmup", "2026-10-21T18:30:00-04:00"),
        ("edu.classops.meeting.cooldown", "2026-10-21T21:15:00-04:00"),
    ]
    assert midterm[0]["id"] == "warmup/midterm@2026-10-21T18:30:00-04:00"
    assert midterm[0]["data"]["expected"] == 240


def test_plan_table_header_says_what_it_assumes(capsys):
    assert main(["plan", "--schedule", SCHEDULE, "--from", "2026-09-02", "--to", "2026-09-02",
                 "-o", "table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "# cs101 fall-2026 (America/New_York), 2026-09-02 .. 2026-09-02: 3 firings"
    assert lines[1].startswith("# no cluster: assuming 240 students, nobody running, default "
                               "lead time 30m")
    assert lines[3].startswith("Wed 2026-09-02 03:00 EDT  backup.due")
    assert "lecture for class: 216 expected, 10:10-11:00" in lines[4]


def test_plan_ics_export_reads_back(capsysbinary):
    assert main(["plan", "--schedule", SCHEDULE, "-o", "ics"]) == 0
    calendar = icalendar.Calendar.from_ical(capsysbinary.readouterr().out)
    events = calendar.walk("VEVENT")
    # 110 backups, 15 retentions, 13 deadlines, 67 warm-ups, 67 cool-downs, term start and end.
    assert len(events) == 274
    first = events[0]
    assert str(first["UID"]) == "term/start@2026-08-31T00:00:00-04:00/classops"
    assert calendar.walk("VTIMEZONE")


@pytest.mark.parametrize(("argv", "message"), [
    (["plan", "--schedule", SCHEDULE, "--from", "2026-13-01"],
     "classops: error: --from '2026-13-01' is not a date, expected YYYY-MM-DD"),
    (["plan", "--schedule", SCHEDULE, "--from", "2026-10-02", "--to", "2026-10-01"],
     "classops: error: --to 2026-10-01 is before --from 2026-10-02"),
    (["validate", "--schedule", "/nonexistent/schedules.yaml"],
     "classops: error: No such file or directory: /nonexistent/schedules.yaml"),
])
def test_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [message]
    assert captured.out == ""


def test_the_installed_console_script():
    script = Path(sys.executable).parent / "classops"
    if not script.exists():
        pytest.skip("classops is not installed in this environment (pip install -e .)")
    done = subprocess.run([str(script), "validate", "--schedule", SCHEDULE],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK ")
    done = subprocess.run([str(script), "plan", "--schedule", SCHEDULE, "--from", "2026-13-01"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr.strip()) == (
        2, "classops: error: --from '2026-13-01' is not a date, expected YYYY-MM-DD")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a valid PNG has first."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_plan_png_of_the_whole_term(tmp_path, capsys):
    from matplotlib.image import imread

    out = tmp_path / "term.png"
    assert main(["plan", "--schedule", SCHEDULE, "-o", "png", "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    data = out.read_bytes()
    assert png_size(data) == (1400, 550)
    pixels = imread(str(out))
    assert pixels.shape[:2] == (550, 1400)
    # Not a blank canvas: the curve's blue is there (the exam's purple and deadlines' red too).
    rgb = (pixels[..., :3] * 255).round().astype(int)
    assert ((rgb == (31, 119, 180)).all(axis=-1)).sum() > 1000


def test_plan_png_to_stdout_like_ics(capsysbinary):
    assert main(["plan", "--schedule", SCHEDULE, "--from", "2026-10-19", "--to", "2026-10-25",
                 "-o", "png"]) == 0
    assert png_size(capsysbinary.readouterr().out) == (1400, 550)


def test_plan_png_refuses_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["plan", "--schedule", SCHEDULE, "-o", "png"]) == 2
    assert capsys.readouterr().err == (
        "classops: error: -o png writes binary data: give --out FILE or redirect stdout\n")


def test_plan_out_writes_any_format_to_a_file(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["plan", "--schedule", SCHEDULE, "--from", "2026-10-21", "--to", "2026-10-21",
                 "-o", "json", "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    # The backup, then the warm-up and cool-down of the lecture and of the midterm.
    assert len(json.loads(out.read_text())) == 5
