"""The progress report plugin's own sections, built from :mod:`.figures`."""

from __future__ import annotations

from crossroads.plugin import ReportRequest, Section, source_label

from . import charts
from .figures import caseload_counts, caseload_rows, client_figures, stalled_days
from .models import ReportNote


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:g}%"


def _chart(svg) -> dict:
    """A chart as an SVG picture in a ``data:`` URI: its own styles stay inside it, apart from the page's
    (and its Content-Security-Policy), on screen and in the PDF alike."""
    return {"chart": svg, "chart_uri": charts.data_uri(svg)}


def note_for(request: ReportRequest) -> ReportNote | None:
    """The coach's note on exactly this client and period, if there is one."""
    client = request.subject.client
    return request.session.scalar(
        request.scope.select(ReportNote).where(
            ReportNote.client_id == client.id,
            ReportNote.period_start == request.period.start,
            ReportNote.period_end == request.period.last_day,
        )
    )


def client_sections(request: ReportRequest) -> list[Section]:
    figures = client_figures(request.scope, request.subject.client.id, request.period, request.channel_labels)
    request.shared["client_figures"] = figures
    sections = []
    note = note_for(request)
    if note is not None and note.body:
        sections.append(
            Section(
                key="coach_note",
                title="Coach's note",
                order=5,
                rows=[{"note": note.body, "by": note.author.name if note.author else ""}],
                template="progress_report/sections/note.html",
                context={"note": note},
            )
        )
    channel_rows = [
        {
            "channel": row.label,
            "requests": row.requests,
            "follow_ups": row.follow_ups,
            "replied": row.replied,
            "reply_rate": _pct(row.reply_rate),
        }
        for row in figures.channels
    ]
    sections.append(
        Section(
            key="outreach",
            title="Outreach",
            order=10,
            rows=channel_rows
            + [
                {
                    "channel": "All channels",
                    "requests": figures.requests,
                    "follow_ups": figures.follow_ups,
                    "replied": figures.replied,
                    "reply_rate": _pct(figures.reply_rate),
                }
            ],
            columns={
                "channel": "Channel",
                "requests": "Requests sent",
                "follow_ups": "Follow-ups sent",
                "replied": "Replied",
                "reply_rate": "Reply rate",
            },
            template="progress_report/sections/outreach.html",
            context={"figures": figures},
        )
    )
    sections.append(
        Section(
            key="goals",
            title="Against goals",
            order=20,
            rows=[
                {"measure": g.label, "done": g.done, "goal": "" if g.expected is None else g.expected}
                for g in figures.goals
            ]
            + [
                {
                    "measure": "follow-ups sent on time",
                    "done": figures.follow_ups_on_time,
                    "goal": figures.follow_ups,
                },
                {
                    "measure": "thank-yous sent within a day",
                    "done": figures.thank_yous_on_time,
                    "goal": figures.thank_yous,
                },
            ],
            columns={"measure": "Measure", "done": "Done", "goal": "Goal or out of"},
            template="progress_report/sections/goals.html",
            context={"figures": figures},
        )
    )
    sections.append(
        Section(
            key="activity",
            title="Weekly activity",
            order=30,
            rows=[
                {
                    "week_starting": w.start.isoformat(),
                    "requests": w.requests,
                    "follow_ups": w.follow_ups,
                    "conversations": w.conversations,
                    "thank_yous": w.thank_yous,
                }
                for w in figures.weeks
            ],
            template="progress_report/sections/activity.html",
            context={"figures": figures, **_chart(charts.weekly_activity(figures.weeks))},
        )
    )
    sections.append(
        Section(
            key="contacts",
            title="New contacts",
            order=40,
            rows=[
                {"source": source_label(source), "contacts": count}
                for source, count in sorted(figures.new_contacts.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            columns={"source": "Source", "contacts": "New contacts"},
            template="progress_report/sections/contacts.html",
            context={"figures": figures, "source_labels": {s: source_label(s) for s in figures.new_contacts}},
        )
    )
    sections.append(
        Section(
            key="themes",
            title="Themes",
            order=50,
            rows=[
                {
                    "theme": t.theme.title,
                    "status": t.theme.status.value,
                    "held_in_period": t.held_in_period,
                    "held_to_date": t.held_to_date,
                    "target": t.target,
                    "average_energy": "" if t.average_energy is None else t.average_energy,
                    "average_fit": "" if t.average_fit is None else t.average_fit,
                    "insights": " | ".join(f"{who}: {text}" for who, text in t.insights),
                    "decisions": " | ".join(
                        f"{d.at.date().isoformat()} {d.decision.value}: {d.note}".strip() for d in t.decisions
                    ),
                }
                for t in figures.themes
            ],
            template="progress_report/sections/themes.html",
            context={"figures": figures, **_chart(charts.energy_and_fit(figures.themes))},
        )
    )
    return sections


def caseload_sections(request: ReportRequest) -> list[Section]:
    coach = request.subject.coach
    sort = request.options.get("sort", "-idle")
    rows = caseload_rows(
        request.scope, request.period, request.now, coach_id=coach.id if coach else None, sort=sort
    )
    request.shared["caseload"] = rows
    threshold = stalled_days(request.session, request.practice.id)
    return [
        Section(
            key="caseload",
            title="Clients",
            order=10,
            intro=f"Stalled: no activity of the client's own in {threshold} days or more.",
            rows=[
                {
                    "client": r.name,
                    "coach": r.client.coach.name,
                    "momentum_per_week": r.momentum,
                    "requests": r.requests,
                    "conversations": r.conversations,
                    "conversations_goal": ""
                    if r.conversations_expected is None
                    else r.conversations_expected,
                    "thank_yous": r.thank_yous,
                    "overdue_follow_ups": r.overdue_follow_ups,
                    "overdue_thank_yous": r.overdue_thank_yous,
                    "last_activity": r.last_activity.isoformat() if r.last_activity else "",
                    "days_idle": r.idle_days,
                    "stalled": "yes" if r.stalled else "no",
                }
                for r in rows
            ],
            template="progress_report/sections/caseload.html",
            context={
                "rows": rows,
                "counts": caseload_counts(rows),
                "sort": sort,
                "threshold": threshold,
                "show_coach": coach is None,
                **_chart(charts.caseload_momentum(rows)),
            },
        )
    ]
