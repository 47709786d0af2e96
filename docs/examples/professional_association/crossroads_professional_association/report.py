"""The report section: guest requests written, sent and answered in the report's period."""

from sqlalchemy import func

from crossroads.plugin import Client, MessageStatus, OutreachMessage, Section, User

from .channel import NAME

COLUMNS = {"client": "Client", "written": "Written", "sent": "Sent", "answered": "Answered"}


def guest_requests_section(request):
    """One query, whatever the activity: counts per client, from the viewer's scope."""
    period = request.period

    def in_period(column):
        return (column >= period.since) & (column < period.until)

    query = (
        request.scope.select(OutreachMessage)  # the viewer's practice and caseload only
        .with_only_columns(
            User.name,
            func.count().filter(in_period(OutreachMessage.created_at)),
            func.count().filter(
                (OutreachMessage.status == MessageStatus.SENT) & in_period(OutreachMessage.sent_at)
            ),
            func.count().filter(in_period(OutreachMessage.replied_at)),
        )
        .join(Client, Client.id == OutreachMessage.client_id)
        .join(User, User.id == Client.user_id)
        .where(OutreachMessage.channel == NAME)
        .group_by(Client.id, User.name)
        .order_by(User.name)
    )
    if request.kind == "client":
        query = query.where(OutreachMessage.client_id == request.subject.client.id)
    elif request.subject.coach is not None:
        query = query.where(Client.coach_id == request.subject.coach.id)
    rows = [
        {"client": name, "written": written, "sent": sent, "answered": answered}
        for name, written, sent, answered in request.session.execute(query)
        if written or sent or answered
    ]
    columns = dict(COLUMNS)
    if request.kind == "client":
        columns.pop("client")
        totals = rows[0] if rows else dict.fromkeys(columns, 0)
        rows = [{key: totals[key] for key in columns}]
    return Section(
        key="association_guest_requests",
        title="Professional associations",
        intro="Guest requests to associations' events contacts in this period."
        if rows
        else "No guest requests in this period.",
        rows=rows,
        columns=columns,
        order=70,
    )
