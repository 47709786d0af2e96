"""One page of a longer list, and the query that fetches it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        """1-based position of the first item shown, for "21–40 of 73"."""
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)


def paginate(session: Session, query: Select, page: int, per_page: int) -> Page:
    """Run ``query`` for one page; a page past the end shows the last page instead of nothing."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    last_page = max(1, ceil(total / per_page))
    page = min(max(1, page), last_page)
    items = session.scalars(query.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return Page(items=items, page=page, per_page=per_page, total=total)
