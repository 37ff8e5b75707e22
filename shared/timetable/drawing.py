"""The plan as a picture: the window's planned capacity curve, with deadlines, exams, holidays.

`as_png` draws with matplotlib's Agg canvas on a `Figure` of its own (never pyplot, whose
global state and backend choice belong to whoever imports it) and returns the PNG's bytes; the
CLI writes them. matplotlib is imported only by this module, and the CLI imports this module
only for `-o png`, so a table or JSON plan does not pay for it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from shared.events.types import DEADLINE, WARMUP

from .capacity import capacity_curve
from .localtimes import local
from .model import Timetable
from .occurrences import Occurrence

SIZE = (14.0, 5.5)  # inches; at DPI, 1400 x 550 pixels
DPI = 100
CURVE, DEADLINES, EXAMS, HOLIDAYS = "#1f77b4", "#d62728", "#9467bd", "#bbbbbb"


def as_png(timetable: Timetable, occurrences: Sequence[Occurrence], first: date, last: date,
           note: str = "") -> bytes:
    """A PNG of the days `first` .. `last` (inclusive, the term's dates) and their firings."""
    zone = timetable.term.timezone
    start, end = local(first, time(0), zone), local(last + timedelta(days=1), time(0), zone)
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    steps = capacity_curve(occurrences, start, end)
    xs = [_x(when) for when, _ in steps] + [_x(end)]
    ys = [seats for _, seats in steps] + [steps[-1][1]]
    axes.fill_between(xs, ys, step="post", color=CURVE, alpha=0.25, linewidth=0)
    axes.step(xs, ys, where="post", color=CURVE, linewidth=1.2,
              label="seats held ready (warm-up to cool-down)")
    size = timetable.enrolment.size
    axes.axhline(size, color="#555555", linestyle=":", linewidth=1, label=f"class size ({size})")
    _holidays(axes, timetable, start, end)
    _exams(axes, occurrences)
    _deadlines(axes, occurrences)

    axes.set_xlim(_x(start), _x(end))
    # Headroom above the curve for the labels of deadlines (at the top) and exams (below them).
    axes.set_ylim(0, max(size, *ys) * 1.45)
    locator = mdates.AutoDateLocator(tz=zone, minticks=5, maxticks=16)
    axes.xaxis.set_major_locator(locator)
    dates = mdates.ConciseDateFormatter(locator, tz=zone)
    dates.formats[2] = "%a %d"  # the days' ticks say the weekday: timetables think in weekdays
    axes.xaxis.set_major_formatter(dates)
    axes.set_xlabel(f"date and time in {zone.key}")
    axes.set_ylabel("seats (expected students)")
    axes.grid(axis="y", alpha=0.3)
    figure.legend(loc="outside lower center", fontsize="small", ncols=5, frameon=False)
    term = timetable.term
    span = f"{first}" if first == last else f"{first} .. {last}"
    axes.set_title(f"{timetable.course} {term.name}: planned capacity, {span}", loc="left",
                   fontweight="bold")
    if note:
        axes.set_title(note, loc="right", fontsize="x-small", color="#555555")
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _holidays(axes: Axes, timetable: Timetable, start: datetime, end: datetime) -> None:
    zone, labelled = timetable.term.timezone, False
    for h in timetable.holidays:
        left = max(local(h.first, time(0), zone), start)
        right = min(local(h.last + timedelta(days=1), time(0), zone), end)
        if left >= right:
            continue
        axes.axvspan(_x(left), _x(right), color=HOLIDAYS, alpha=0.45, linewidth=0,
                     label=None if labelled else "holiday")
        axes.annotate(h.name, ((_x(left) + _x(right)) / 2, 0.5),
                      xycoords=("data", "axes fraction"),
                      rotation=90, ha="center", va="center", fontsize="x-small", color="#444444")
        labelled = True


def _exams(axes: Axes, occurrences: Sequence[Occurrence]) -> None:
    labelled = False
    for o in occurrences:
        if o.type != WARMUP or o.data.get("kind") != "exam":
            continue
        begins, ends = (datetime.fromisoformat(o.data[k]) for k in ("start", "end"))
        axes.axvspan(_x(begins), _x(ends), color=EXAMS, alpha=0.35, linewidth=0, zorder=0,
                     label=None if labelled else "exam")
        middle = (_x(begins) + _x(ends)) / 2
        axes.annotate(f"{o.data['meeting']} ({o.data['expected']})", (middle, 0.76),
                      xycoords=("data", "axes fraction"), ha="center", va="bottom",
                      fontsize="small", color=EXAMS, fontweight="bold")
        labelled = True


def _deadlines(axes: Axes, occurrences: Sequence[Occurrence]) -> None:
    labelled = False
    for o in occurrences:
        if o.type != DEADLINE:
            continue
        axes.axvline(_x(o.at), color=DEADLINES, linestyle="--", linewidth=0.8,
                     label=None if labelled else "deadline")
        axes.annotate(o.subject, (_x(o.at), 0.99), xycoords=("data", "axes fraction"),
                      rotation=90, ha="right", va="top", fontsize="x-small", color=DEADLINES)
        labelled = True


def _x(moment: datetime) -> float:
    """matplotlib's date number of an instant (aware: it is converted through UTC)."""
    return float(mdates.date2num(moment))
