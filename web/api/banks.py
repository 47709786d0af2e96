"""Question banks, with the reach the pages give them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import selectinload

from crossroads.core.models import QuestionBank
from crossroads.core.schemas.api import BankShape, PageQuerySchema

from .conventions import api_scope, cursor_page, page_shape
from .strict import ApiBlueprint as Blueprint

bp = Blueprint("api_banks", __name__, description="Question banks the token's user may read.")


@bp.route("/banks", methods=["GET"])
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, page_shape(BankShape))
def list_banks(page: dict[str, Any]):
    """The practice's shared banks, a coach's own, and for a client the banks chosen for them."""
    query = api_scope().banks().options(selectinload(QuestionBank.questions))
    return cursor_page(query, QuestionBank, page)


@bp.route("/banks/<int:bank_id>", methods=["GET"])
@bp.response(200, BankShape)
def show_bank(bank_id: int):
    return api_scope().bank(bank_id)
