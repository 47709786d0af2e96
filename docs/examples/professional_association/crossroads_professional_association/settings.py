"""The plugin's settings for each practice: the owner fills them in under Practice → Plugins."""

import re

from marshmallow import ValidationError, fields, validate

from crossroads.plugin import PluginSettings


def web_address(value):
    """Empty, or an http(s) address."""
    if value and not re.fullmatch(r"https?://[^\s/?#]+(/\S*)?", value):
        raise ValidationError("Give an address that starts with https://, or leave it empty.")


class AssociationSettings(PluginSettings):
    plugin = "professional_association"  # the entry point's name

    association_name = fields.String(
        load_default="",
        validate=validate.Length(max=200),
        metadata={
            "label": "Default association",
            "description": "Named in a guest request when the contact's organisation is empty.",
        },
    )
    sign_off = fields.String(
        load_default="With thanks",
        validate=validate.Length(min=1, max=60),
        metadata={"label": "Sign-off", "description": "The line before the client's name."},
    )
    booking_url = fields.String(
        load_default="",
        validate=[validate.Length(max=500), web_address],
        metadata={
            "label": "Booking service",
            "description": "The association's address for guest requests; when set, requests are sent there "
            "instead of being handed to the client.",
        },
    )
