"""The plugin's command: ``crossroads association-stats --practice ID``."""

import click
from sqlalchemy import func, select

from crossroads.plugin import MessageStatus, OutreachMessage, Practice, open_session

from .channel import NAME


@click.command("association-stats")
@click.option("--practice", "practice_id", required=True, type=int, help="The practice's id.")
def association_stats(practice_id: int) -> None:
    """Count a practice's guest requests to professional associations, by status."""
    with open_session() as session:
        practice = session.get(Practice, practice_id)
        if practice is None:
            raise click.ClickException(f"No practice has the id {practice_id}.")
        counts = dict(
            session.execute(
                select(OutreachMessage.status, func.count())
                .where(OutreachMessage.practice_id == practice.id, OutreachMessage.channel == NAME)
                .group_by(OutreachMessage.status)
            ).all()
        )
    total = sum(counts.values())
    click.echo(f"{practice.name}: {total} guest request{'' if total == 1 else 's'}")
    for status in MessageStatus:
        if counts.get(status):
            click.echo(f"  {status.value}: {counts[status]}")
