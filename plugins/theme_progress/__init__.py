"""Theme progress: a dashboard panel showing a client's career themes against their targets.

It also teaches the method's first step: until a client has named at least
one theme, the panel says so, since interviews started before the themes are
clear tend to add confusion.
"""

from __future__ import annotations

from crossroads.plugin import MAX_ACTIVE_THEMES, Client, Panel, ThemeStatus, User, hookimpl

STATUS_ORDER = [ThemeStatus.CHOSEN, ThemeStatus.EXPLORING, ThemeStatus.PARKED]


@hookimpl
def client_panels(client: Client, viewer: User) -> Panel:
    """One panel: the active and parked themes, each with its target and status."""
    themes = sorted(
        (t for t in client.themes if t.status in STATUS_ORDER),
        key=lambda t: (STATUS_ORDER.index(t.status), t.position, t.id),
    )
    active = [t for t in themes if t.is_active]
    return Panel(
        title="Themes against targets",
        template="theme_progress/panel.html",
        context={
            "themes": themes,
            "active_count": len(active),
            "max_active": MAX_ACTIVE_THEMES,
            "total_target": sum(t.target_conversations for t in active),
            "needs_clarity": not active,
            "missing_description": [t.title for t in active if not t.description],
            "viewer_is_client": viewer.id == client.user_id,
        },
    )
