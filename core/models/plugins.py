"""Plugins' switches and settings, per practice and per client."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class PracticePlugin(Base):
    """Whether a plugin is on for a practice, and its settings there."""

    __tablename__ = "practice_plugin"
    __table_args__ = (UniqueConstraint("practice_id", "plugin_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    plugin_name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ClientPluginSetting(Base):
    """One plugin's settings for one client (for example a LinkedIn Premium account)."""

    __tablename__ = "client_plugin_setting"
    __table_args__ = (UniqueConstraint("client_id", "plugin_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    plugin_name: Mapped[str] = mapped_column(String(100))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
