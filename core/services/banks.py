"""Question banks: the starter bank, a practice's own banks, and their JSON exchange format."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from marshmallow import ValidationError, fields, validate
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..db import utcnow
from ..errors import Forbidden, InvalidInput, NotFound
from ..models import Category, Client, Question, QuestionBank, Reach, Role
from ..schemas import MISSING_MESSAGE, CleanSchema, Tags, Text
from ..scoping import Scope

STARTER_FILE = Path(__file__).resolve().parents[1] / "demo_data" / "starter_bank.json"
FORMAT = "crossroads-question-bank"
MAX_IMPORT_BYTES = 1024 * 1024


class QuestionFileSchema(CleanSchema):
    text = Text(required=True, validate=validate.Length(max=500))
    category = fields.Enum(Category, by_value=True, required=True)
    tags = Tags(load_default=list)


class BankFileSchema(CleanSchema):
    """The exchange format: ``{"format": "crossroads-question-bank", "version": 1, ...}``."""

    format = fields.String(required=True, validate=validate.Equal(FORMAT, error=f"must be {FORMAT!r}"))
    version = fields.Integer(required=True, validate=validate.Equal(1, error="only version 1 is known"))
    name = Text(required=True, validate=validate.Length(max=120))
    description = Text(load_default="", validate=validate.Length(max=2000))
    questions = fields.List(
        fields.Nested(QuestionFileSchema), required=True, validate=validate.Length(min=1, max=500)
    )


@dataclass(frozen=True)
class StarterQuestion:
    id: str
    text: str
    category: Category
    tags: list[str]


@dataclass(frozen=True)
class StarterBank:
    """The read-only bank that ships with Crossroads; a coach copies it to adapt it."""

    name: str
    description: str
    questions: list[StarterQuestion]
    id: str = "starter"
    reach: Reach = Reach.PRACTICE
    is_starter: bool = True

    @property
    def live_questions(self) -> list[StarterQuestion]:
        return self.questions


@cache
def starter_bank() -> StarterBank:
    data = BankFileSchema().load(json.loads(STARTER_FILE.read_text(encoding="utf-8")))
    questions = [
        StarterQuestion(f"s{i}", q["text"], q["category"], q["tags"])
        for i, q in enumerate(data["questions"], 1)
    ]
    return StarterBank(data["name"], data["description"], questions)


def visible_banks(scope: Scope, include_retired: bool = False) -> list[QuestionBank]:
    """The banks this user may read, by name, with their questions."""
    query = scope.banks().options(selectinload(QuestionBank.questions), selectinload(QuestionBank.owner))
    if not include_retired:
        query = query.where(QuestionBank.retired_at.is_(None))
    return list(scope.session.scalars(query.order_by(QuestionBank.name, QuestionBank.id)))


def can_edit(scope: Scope, bank: QuestionBank) -> bool:
    """The bank's owner and the practice owner edit a bank; everyone else reads or copies it."""
    return scope.user.is_staff and (bank.owner_id == scope.user.id or scope.user.role == Role.OWNER)


def _editable(scope: Scope, bank_id: int) -> QuestionBank:
    bank = scope.bank(bank_id)
    if scope.user.role == Role.CLIENT:
        raise NotFound(f"QuestionBank {bank_id}")
    if not can_edit(scope, bank):
        raise Forbidden("only the bank's owner or the practice owner edits it")
    return bank


def _clients(scope: Scope, client_ids: list[int]) -> list[Client]:
    if not client_ids:
        return []
    chosen = scope.session.scalars(scope.select(Client).where(Client.id.in_(client_ids))).all()
    if len(chosen) != len(set(client_ids)):
        raise InvalidInput({"client_ids": ["Choose clients from your caseload."]})
    return list(chosen)


def create_bank(scope: Scope, data: dict[str, Any]) -> QuestionBank:
    """A new, empty bank owned by the signed-in coach (data from ``BankSchema``)."""
    if not scope.user.is_staff:
        raise Forbidden("clients do not own banks")
    bank = QuestionBank(
        practice_id=scope.practice_id,
        owner_id=scope.user.id,
        name=data["name"],
        description=data.get("description", ""),
        reach=data.get("reach", Reach.PRACTICE),
    )
    # As in update_bank: chosen clients only mean something for a chosen-clients bank.
    bank.clients = _clients(scope, data.get("client_ids", [])) if bank.reach == Reach.CLIENTS else []
    scope.session.add(bank)
    scope.session.commit()
    return bank


def update_bank(scope: Scope, bank_id: int, data: dict[str, Any]) -> QuestionBank:
    bank = _editable(scope, bank_id)
    bank.name, bank.description, bank.reach = data["name"], data.get("description", ""), data["reach"]
    bank.clients = _clients(scope, data.get("client_ids", [])) if bank.reach == Reach.CLIENTS else []
    scope.session.commit()
    return bank


def set_retired(scope: Scope, bank_id: int, retired: bool) -> QuestionBank:
    """Retire a bank (clients stop seeing it; prep sheets keep their copies) or bring it back."""
    bank = _editable(scope, bank_id)
    bank.retired_at = utcnow() if retired else None
    scope.session.commit()
    return bank


def copy_bank(scope: Scope, bank_id: int | str) -> QuestionBank:
    """A copy owned by the signed-in coach, of the starter bank (``"starter"``) or a visible bank."""
    if not scope.user.is_staff:
        raise Forbidden("clients do not copy banks")
    source = starter_bank() if bank_id == "starter" else scope.bank(int(bank_id))
    copy = QuestionBank(
        practice_id=scope.practice_id,
        owner_id=scope.user.id,
        name=f"{source.name} (copy)"[:120],
        description=source.description,
        reach=Reach.OWNER,
    )
    for position, question in enumerate(source.live_questions, 1):
        copy.questions.append(
            Question(
                practice_id=scope.practice_id,
                text=question.text,
                category=question.category,
                tags=list(question.tags),
                position=position,
            )
        )
    scope.session.add(copy)
    scope.session.commit()
    return copy


def readable_question(scope: Scope, question_id: int) -> Question:
    """A question in a bank this user may read; :class:`NotFound` otherwise."""
    question = scope.session.scalar(
        select(Question).where(
            Question.id == question_id, Question.bank_id.in_(scope.banks().with_only_columns(QuestionBank.id))
        )
    )
    if question is None:
        raise NotFound(f"Question {question_id}")
    return question


def add_question(scope: Scope, bank_id: int, data: dict[str, Any]) -> Question:
    """Append a question (data from ``QuestionSchema``)."""
    bank = _editable(scope, bank_id)
    last = scope.session.scalar(select(func.max(Question.position)).where(Question.bank_id == bank.id)) or 0
    question = Question(practice_id=bank.practice_id, bank=bank, position=last + 1, **data)
    scope.session.add(question)
    scope.session.commit()
    return question


def update_question(scope: Scope, question_id: int, data: dict[str, Any]) -> Question:
    """Change a question's text, category or tags. Prep sheets that used it keep their own copy."""
    question = readable_question(scope, question_id)
    _editable(scope, question.bank_id)
    for key, value in data.items():
        setattr(question, key, value)
    scope.session.commit()
    return question


def move_question(scope: Scope, question_id: int, step: int) -> Question:
    """Move a question one place up (``-1``) or down (``+1``) among its bank's live questions.

    Retired questions are out of sight, so the move steps over them (they keep their places)."""
    question = readable_question(scope, question_id)
    bank = _editable(scope, question.bank_id)
    ordered = list(bank.questions)
    index = ordered.index(question)
    target = index + step
    while 0 <= target < len(ordered) and ordered[target].retired_at is not None:
        target += step
    if 0 <= target < len(ordered):
        ordered[index], ordered[target] = ordered[target], ordered[index]
        for position, q in enumerate(ordered, 1):
            q.position = position
    scope.session.commit()
    return question


def set_question_retired(scope: Scope, question_id: int, retired: bool) -> Question:
    question = readable_question(scope, question_id)
    _editable(scope, question.bank_id)
    question.retired_at = utcnow() if retired else None
    scope.session.commit()
    return question


def export_bank(scope: Scope, bank_id: int | str) -> dict[str, Any]:
    """A bank in the exchange format, ready for ``json.dumps``."""
    bank = starter_bank() if bank_id == "starter" else scope.bank(int(bank_id))
    return {
        "format": FORMAT,
        "version": 1,
        "name": bank.name,
        "description": bank.description,
        "questions": [
            {"text": q.text, "category": q.category.value, "tags": list(q.tags)} for q in bank.live_questions
        ],
    }


def _describe(messages: Any, path: str = "") -> list[str]:
    """Marshmallow's nested messages as lines such as ``questions[3].category: ...``."""
    if isinstance(messages, list):
        texts = [MISSING_MESSAGE if m == "Missing data for required field." else m for m in messages]
        return [f"{path}: {m}" if path else str(m) for m in texts if not isinstance(m, dict | list)]
    lines = []
    for key, value in messages.items():
        if key == "_schema":  # the item itself is wrong (not an object), not one of its fields
            where = path
        elif isinstance(key, int):
            where = f"{path}[{int(key) + 1}]"  # counted from 1, as a person counts them in the file
        else:
            where = f"{path}.{key}" if path else key
        lines += _describe(value, where)
    return lines


def import_bank(scope: Scope, raw: bytes) -> QuestionBank:
    """A new bank from an exported file; a bad file is refused whole, saying where and why."""
    if not scope.user.is_staff:
        raise Forbidden("clients do not import banks")
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidInput({"file": ["The file is larger than 1 MB."]})
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidInput({"file": ["The file is not UTF-8 text."]}) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            {"file": [f"Not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."]}
        ) from None
    except RecursionError:  # arrays nested thousands deep: no exported bank looks like that
        raise InvalidInput({"file": ["The file is nested too deeply to be an exported bank."]}) from None
    if not isinstance(document, dict):
        raise InvalidInput({"file": ["The file must hold one JSON object, as an exported bank does."]})
    try:
        data = BankFileSchema().load(document, unknown="exclude")
    except ValidationError as exc:
        raise InvalidInput({"file": _describe(exc.messages)}) from None
    bank = QuestionBank(
        practice_id=scope.practice_id,
        owner_id=scope.user.id,
        name=data["name"],
        description=data["description"],
        reach=Reach.OWNER,
    )
    for position, q in enumerate(data["questions"], 1):
        bank.questions.append(Question(practice_id=scope.practice_id, position=position, **q))
    scope.session.add(bank)
    scope.session.commit()
    return bank
