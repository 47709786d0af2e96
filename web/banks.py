"""Question banks: coaches manage them, clients browse those shared with them."""

from __future__ import annotations

import io
import json

from flask import Blueprint, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from crossroads.core.errors import Forbidden, InvalidInput
from crossroads.core.models import (
    CATEGORY_LABELS,
    Category,
    Client,
    Question,
    QuestionBank,
    Reach,
    Role,
    User,
)
from crossroads.core.schemas import BankSchema, QuestionSchema
from crossroads.core.services import banks
from crossroads.core.text import slug

from .context import require_role, scope
from .forms import Form, submit
from .notices import notify

bp = Blueprint("banks", __name__, url_prefix="/banks")

REACH_LABELS = {
    Reach.PRACTICE: "Whole practice",
    Reach.OWNER: "Its coach only",
    Reach.CLIENTS: "Its coach and chosen clients",
}
REACH_CHOICES = [
    (Reach.PRACTICE.value, "Whole practice: all coaches and clients"),
    (Reach.OWNER.value, "Only the coach who owns it"),
    (Reach.CLIENTS.value, "The coach who owns it and chosen clients"),
]


@bp.before_request
@login_required
def signed_in():
    """Every page here needs a user; which banks they reach is up to the scope."""


@bp.app_context_processor
def labels():
    return {"CATEGORY_LABELS": CATEGORY_LABELS, "REACH_LABELS": REACH_LABELS}


def staff_only() -> None:
    """Clients browse; everything that changes or copies a bank is for coaches (404 for a client)."""
    require_role(Role.OWNER, Role.COACH)


def may_edit(bank: QuestionBank) -> bool:
    return banks.can_edit(scope(), bank)


def editable_bank(bank_id: int) -> QuestionBank:
    """The bank, if this user may change it: 404 when out of reach, 403 for a colleague's bank."""
    staff_only()
    bank = scope().bank(bank_id)
    if not may_edit(bank):
        raise Forbidden("only the bank's owner or the practice owner edits it")
    return bank


def editable_question(question_id: int) -> Question:
    staff_only()
    question = banks.readable_question(scope(), question_id)
    editable_bank(question.bank_id)
    return question


def bank_url(bank_id: int, question_id: int | None = None) -> str:
    anchor = f"q-{question_id}" if question_id else None
    return url_for("banks.show", bank_id=bank_id, _anchor=anchor)


def caseload() -> list[Client]:
    """The clients this coach may share a bank with (the whole practice for its owner)."""
    if not current_user.is_staff:
        return []
    query = (
        scope()
        .select(Client)
        .join(User, Client.user_id == User.id)
        .options(selectinload(Client.user))
        .order_by(User.name, Client.id)
    )
    return list(scope().session.scalars(query))


def short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def by_category(questions) -> list[tuple[str, list]]:
    """Questions grouped under the ten categories, in their order; empty categories left out."""
    groups = [(CATEGORY_LABELS[c], [q for q in questions if q.category == c]) for c in Category]
    return [(label, items) for label, items in groups if items]


def category_choices() -> list[tuple[str, str]]:
    return [(c.value, CATEGORY_LABELS[c]) for c in Category]


# -- the list ---------------------------------------------------------------------------------


def render_index(
    status: int = 200,
    create_form: Form | None = None,
    import_form: Form | None = None,
    import_problems: list[str] = (),
):
    """Every bank this user may read; the forms (and a refused file's problems) carry a failed submit back."""
    staff = current_user.is_staff
    return render_template(
        "banks/index.html",
        starter=banks.starter_bank(),
        banks=banks.visible_banks(scope(), include_retired=staff),
        clients=caseload(),
        reach_choices=REACH_CHOICES,
        create_form=create_form or Form({"reach": Reach.OWNER.value}),
        import_form=import_form or Form(),
        import_problems=list(import_problems),
    ), status


@bp.get("/")
def index():
    return render_index()


@bp.post("/")
def create():
    staff_only()
    bank, form = submit(BankSchema(), lambda data: banks.create_bank(scope(), data))
    if bank is None:
        return render_index(422, create_form=form)
    notify(f"Created the bank “{bank.name}”. Add its first question below.")
    return redirect(bank_url(bank.id))


@bp.post("/import")
def import_file():
    staff_only()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_index(422, import_form=Form(errors={"file": ["Choose a .json file to upload."]}))
    try:
        # One byte over the limit is enough for the service to refuse the file as too large.
        bank = banks.import_bank(scope(), upload.read(banks.MAX_IMPORT_BYTES + 1))
    except InvalidInput as exc:
        problems = sum(exc.errors.values(), [])
        summary = "Nothing was imported: the file was refused whole. Fix what is listed and upload it again."
        return render_index(422, import_form=Form(errors={"file": [summary]}), import_problems=problems)
    notify(
        f"Imported “{bank.name}” with {len(bank.questions)} questions. Only you see it until you share it."
    )
    return redirect(bank_url(bank.id))


# -- one bank ---------------------------------------------------------------------------------


def settings_values(bank: QuestionBank) -> dict:
    return {
        "name": bank.name,
        "description": bank.description,
        "reach": bank.reach.value,
        "client_ids": [str(c.id) for c in bank.clients],
    }


def question_values(question: Question) -> dict:
    return {"text": question.text, "category": question.category.value, "tags": ", ".join(question.tags)}


def render_show(bank: QuestionBank, status: int = 200, **forms):
    """One bank: editable for its owner and the practice owner, read-only for everyone else.

    ``forms`` carry a failed submit back: ``settings_form``, ``question_form``, and
    ``edit_forms`` (question id → form).
    """
    editable = may_edit(bank)
    edit_forms = forms.get("edit_forms") or {}
    context = {"bank": bank, "editable": editable, "starter": False}
    if editable:
        context |= {
            "live": bank.live_questions,
            "retired": [q for q in bank.questions if q.retired_at is not None],
            "clients": caseload(),
            "reach_choices": REACH_CHOICES,
            "category_choices": category_choices(),
            "settings_form": forms.get("settings_form") or Form(settings_values(bank)),
            "question_form": forms.get("question_form") or Form(),
            "edit_forms": {
                q.id: edit_forms.get(q.id) or Form(question_values(q)) for q in bank.live_questions
            },
        }
    else:
        context["groups"] = by_category(bank.live_questions)
    return render_template("banks/show.html", **context), status


@bp.get("/<int:bank_id>")
def show(bank_id: int):
    return render_show(scope().bank(bank_id))


@bp.get("/starter")
def starter():
    bank = banks.starter_bank()
    return render_template(
        "banks/show.html", bank=bank, editable=False, starter=True, groups=by_category(bank.questions)
    )


@bp.post("/<int:bank_id>")
def update(bank_id: int):
    bank = editable_bank(bank_id)
    saved, form = submit(BankSchema(), lambda data: banks.update_bank(scope(), bank.id, data))
    if saved is None:
        return render_show(bank, 422, settings_form=form)
    notify(f"Saved the settings of “{saved.name}”.")
    return redirect(bank_url(saved.id))


@bp.post("/<int:bank_id>/retire/<any(on, off):state>")
def retire(bank_id: int, state: str):
    bank = editable_bank(bank_id)
    banks.set_retired(scope(), bank.id, retired=state == "on")
    if state == "on":
        notify(
            f"Retired “{bank.name}”. Clients no longer see it; prep sheets keep the questions they used.",
            undo_url=url_for("banks.retire", bank_id=bank.id, state="off"),
        )
    else:
        notify(f"“{bank.name}” is back in use.")
    return redirect(bank_url(bank.id))


def copied(copy: QuestionBank):
    notify(f"Copied into “{copy.name}”, which is yours to edit. Only you see it until you share it.")
    return redirect(bank_url(copy.id))


@bp.post("/<int:bank_id>/copy")
def copy(bank_id: int):
    staff_only()
    bank = scope().bank(bank_id)
    return copied(banks.copy_bank(scope(), bank.id))


@bp.post("/starter/copy")
def copy_starter():
    staff_only()
    return copied(banks.copy_bank(scope(), "starter"))


def download_name(name: str) -> str:
    """A file name from the bank's name: "Product & design" → ``product-design.json``."""
    return f"{slug(name, 'question-bank')}.json"


def json_download(data: dict):
    body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    return send_file(
        io.BytesIO(body),
        mimetype="application/json",
        as_attachment=True,
        download_name=download_name(data["name"]),
    )


@bp.get("/<int:bank_id>/export.json")
def export(bank_id: int):
    staff_only()
    bank = scope().bank(bank_id)
    return json_download(banks.export_bank(scope(), bank.id))


@bp.get("/starter/export.json")
def export_starter():
    staff_only()
    return json_download(banks.export_bank(scope(), "starter"))


# -- questions --------------------------------------------------------------------------------


@bp.post("/<int:bank_id>/questions")
def add_question(bank_id: int):
    bank = editable_bank(bank_id)
    question, form = submit(QuestionSchema(), lambda data: banks.add_question(scope(), bank.id, data))
    if question is None:
        return render_show(bank, 422, question_form=form)
    notify(f"Added a question to “{bank.name}”.")
    return redirect(bank_url(bank.id, question.id))


@bp.post("/questions/<int:question_id>")
def update_question(question_id: int):
    question = editable_question(question_id)
    saved, form = submit(QuestionSchema(), lambda data: banks.update_question(scope(), question.id, data))
    if saved is None:
        return render_show(question.bank, 422, edit_forms={question.id: form})
    notify("Saved the question. Prep sheets that already use it keep their own copy.")
    return redirect(bank_url(saved.bank_id, saved.id))


@bp.post("/questions/<int:question_id>/move/<any(up, down):direction>")
def move_question(question_id: int, direction: str):
    question = editable_question(question_id)
    banks.move_question(scope(), question.id, -1 if direction == "up" else 1)
    return redirect(bank_url(question.bank_id, question.id))


@bp.post("/questions/<int:question_id>/retire/<any(on, off):state>")
def retire_question(question_id: int, state: str):
    question = editable_question(question_id)
    banks.set_question_retired(scope(), question.id, retired=state == "on")
    if state == "on":
        notify(
            f"Retired the question “{short(question.text)}”.",
            undo_url=url_for("banks.retire_question", question_id=question.id, state="off"),
        )
        return redirect(bank_url(question.bank_id))
    notify(f"Restored the question “{short(question.text)}”.")
    return redirect(bank_url(question.bank_id, question.id))
