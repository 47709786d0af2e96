"""Signing in and out, accepting invitations, resetting passwords, and one's own account."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from crossroads.core.errors import InvalidInput, NotFound, TooManyAttempts
from crossroads.core.models import (
    DELIVERY_LABELS,
    NOTIFICATION_KIND_LABELS,
    Delivery,
    InvitationPurpose,
    User,
)
from crossroads.core.schemas import (
    ChangePasswordSchema,
    LoginSchema,
    NewPasswordSchema,
    NotificationPreferencesSchema,
    ProfileSchema,
    ReminderSettingsSchema,
    ResetRequestSchema,
    load,
)
from crossroads.core.services import accounts, invitations, mail_settings, notifications, reminders

from . import api_tokens, calendar_feed
from .context import crossroads, db, scope
from .devices import known_device, remember_device
from .forms import Form, submit
from .navigation import external_url, local_path
from .notices import notify

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


def home_for(user: User) -> str:
    return url_for("coach.caseload") if user.is_staff else url_for("client.home")


def _sign_in(user: User) -> None:
    # A fresh session on every sign-in: nothing set before it (a fixed session id) survives.
    session.clear()
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME, not with the browser
    login_user(user)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(home_for(current_user))
        return render_template("auth/login.html", form=Form({"next": request.args.get("next", "")}))
    typed = request.form.to_dict()
    typed.pop("password", None)  # never echo a password back into the page
    try:
        data = load(LoginSchema(), request.form)
        device = known_device(data["email"])
        user = accounts.authenticate(
            db(), data["email"], data["password"], request.remote_addr or "", device=device
        )
    except InvalidInput as exc:
        return render_template("auth/login.html", form=Form(typed, exc.errors)), 422
    except TooManyAttempts as exc:
        minutes = max(1, round(exc.retry_after_seconds / 60))
        message = f"Too many failed attempts. Try again in about {minutes} minute{'s' * (minutes != 1)}."
        response = render_template("auth/login.html", form=Form(typed, {"password": [message]}))
        return response, 429, {"Retry-After": str(exc.retry_after_seconds)}
    _sign_in(user)
    response = redirect(local_path(data["next"]) or home_for(user))
    remember_device(response, data["email"], device)
    return response


@bp.post("/logout")
@login_required
def logout():
    accounts.end_sessions(db(), current_user._get_current_object())
    logout_user()
    session.clear()
    notify("You are signed out. Your other devices are signed out too.")
    return redirect(url_for("auth.login"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    return _set_password_page(token, InvitationPurpose.INVITE, "auth/accept.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _set_password_page(token, InvitationPurpose.RESET, "auth/reset.html")


def _set_password_page(token: str, purpose: InvitationPurpose, template: str):
    ext = crossroads()
    try:
        invitation = invitations.find_usable(db(), ext.signer, token, purpose)
    except NotFound as exc:
        return render_template("error.html", title="Link not usable", message=str(exc)), 404
    if request.method == "GET":
        return render_template(template, invitation=invitation, form=Form())
    user, form = submit(
        NewPasswordSchema(),
        lambda data: invitations.accept(db(), ext.signer, token, purpose, data["password"]),
    )
    if user is None:
        form.values = {}  # passwords are never put back into a page
        return render_template(template, invitation=invitation, form=form), 422
    _sign_in(user)
    notify(f"Welcome, {user.name}. Your password is set.")
    return redirect(home_for(user))


RESET_ANSWER = (
    "Crossroads does not email reset links. If that address has an account, a link was made for whoever "
    "runs this Crossroads server: ask your coach (or, if you are a coach, your practice owner) to get it "
    "to you. It works for two hours."
)


@bp.route("/reset", methods=["GET", "POST"])
def request_reset():
    if request.method == "GET":
        return render_template("auth/request_reset.html", form=Form())
    ext = crossroads()
    link, form = submit(
        ResetRequestSchema(),
        lambda data: invitations.request_password_reset(db(), ext.signer, data["email"]) or False,
    )
    if form:
        return render_template("auth/request_reset.html", form=form), 422
    if link:
        # Reset links are not emailed: the link goes to the log for the operator to pass on.
        log.warning(
            "password reset link for %s: %s",
            link.invitation.user.email,
            external_url("auth.reset_password", token=link.token),
        )
    # The same answer whether or not the address has an account, and no promise of an email.
    notify(RESET_ANSWER)
    return redirect(url_for("auth.login"))


def _reminder_form(user: User) -> Form | None:
    """A client's daily reminder settings as a form; staff have none."""
    if user.client is None:
        return None
    return Form({"reminders_on": user.client.reminders_on, "reminder_hour": user.client.reminder_hour})


def _preferences_form(user: User) -> Form:
    return Form(
        {kind.value: delivery.value for kind, delivery in notifications.preferences(db(), user).items()}
    )


def render_account(
    user: User,
    profile: Form | None = None,
    password: Form | None = None,
    calendar: dict | None = None,
    reminders: Form | None = None,
    preferences: Form | None = None,
    status: int = 200,
    tokens: dict | None = None,
) -> tuple[str, int]:
    """The account page: profile, password, calendar feed, a client's daily reminder and a coach's
    notification choices, each form with its own errors (a failed submit comes back in its form)."""
    return render_template(
        "auth/account.html",
        profile=profile or Form({"name": user.name, "timezone": user.timezone}),
        password=password or Form(),
        calendar=calendar or calendar_feed.section(user),
        tokens=tokens or api_tokens.section(),
        reminders=reminders or _reminder_form(user),
        hours=[(h, f"{h:02d}:00") for h in range(24)],
        preferences=preferences or _preferences_form(user),
        coach_kinds=list(notifications.COACH_DEFAULTS) if user.is_staff else [],
        defaults=notifications.COACH_DEFAULTS,
        delivery_options=[(d.value, DELIVERY_LABELS[d]) for d in Delivery],
        KIND_LABELS=NOTIFICATION_KIND_LABELS,
        DELIVERY_LABELS=DELIVERY_LABELS,
        can_email=mail_settings.can_send_email(scope()),
    ), status  # fmt: skip


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    user = current_user._get_current_object()
    if request.method == "POST":
        saved, profile = submit(ProfileSchema(), lambda data: accounts.update_profile(db(), user, data))
        if saved:
            notify("Your account is saved.")
            return redirect(url_for("auth.account"))
        return render_account(user, profile=profile, status=422)
    return render_account(user)


@bp.post("/account/reminders")
@login_required
def reminder_settings():
    user = current_user._get_current_object()
    if user.client is None:
        raise NotFound("reminders are for clients")
    saved, form = submit(ReminderSettingsSchema(), lambda data: reminders.update_settings(scope(), data))
    if saved is None:
        return render_account(user, reminders=form, status=422)
    if saved.reminders_on:
        notify(f"Your daily reminder is on, from {saved.reminder_hour:02d}:00 your time.")
    else:
        notify("Your daily reminder is off. Your coach can see that it is off.")
    return redirect(url_for("auth.account"))


@bp.post("/account/notifications")
@login_required
def notification_preferences():
    """A coach's choice, per kind, of how notifications reach them."""
    user = current_user._get_current_object()
    if not user.is_staff:
        abort(404)  # clients' notifications are listed in Crossroads only
    saved, form = submit(
        NotificationPreferencesSchema(), lambda data: notifications.save_preferences(scope(), data)
    )
    if not saved:
        return render_account(user, preferences=form, status=422)
    notify("Your notification choices are saved.")
    return redirect(url_for("auth.account") + "#notifications-heading")


@bp.post("/account/password")
@login_required
def change_password():
    user = current_user._get_current_object()
    done, form = submit(
        ChangePasswordSchema(), lambda data: accounts.change_password(db(), user, data) or True
    )
    if not done:
        form.values = {}
        return render_account(user, password=form, status=422)
    _sign_in(user)  # the version bump ended this session too; start a new one
    notify("Your password is changed. Other devices are signed out.")
    return redirect(url_for("auth.account"))
