"""A coaching session's calendar file (RFC 5545), for the coach's download and the client's invitation.

The core's calendar code (``conversation_ics``) is written for a conversation with a contact, so a
session gets its own small file here, built the same way with the icalendar library: a stable UID,
the SEQUENCE raised on each change, start and end in UTC, STATUS:CANCELLED for a session called off.
Every text is a property value escaped by the library, never markup of the file.
"""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar, Event, vCalAddress, vText

from crossroads.plugin import utcnow

from .models import CoachingSession, SessionStatus

PRODID = "-//Crossroads//Coaching sessions//EN"


def session_ics(row: CoachingSession, method: str = "PUBLISH") -> bytes:
    """The calendar file of a session: ``PUBLISH`` for a download, ``REQUEST`` for an invitation
    to the client (named as the attendee, the coach as the organiser)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", row.uid)
    event.add("sequence", row.sequence)
    event.add("dtstamp", utcnow())
    event.add("dtstart", row.starts_at)
    event.add("dtend", row.starts_at + timedelta(minutes=row.minutes))
    coach = row.coach.name if row.coach else "your coach"
    event.add("summary", f"Coaching session: {row.client.name} with {coach}")
    event.add("description", f"{row.minutes} minutes.")
    if row.location:
        event.add("location", row.location)
    if row.status == SessionStatus.CANCELLED:
        event.add("status", "CANCELLED")
    if row.coach is not None:
        organiser = vCalAddress(f"mailto:{row.coach.email}")
        organiser.params["cn"] = vText(row.coach.name)
        event.add("organizer", organiser)
    if method == "REQUEST":
        guest = vCalAddress(f"mailto:{row.client.email}")
        guest.params.update({"cn": vText(row.client.name), "role": vText("REQ-PARTICIPANT")})
        event.add("attendee", guest)
    calendar.add_component(event)
    return calendar.to_ical()
