"""The plugin's settings for each practice: the owner fills them in under Practice → Plugins."""

from marshmallow import fields, validate

from crossroads.plugin import PluginSettings


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
