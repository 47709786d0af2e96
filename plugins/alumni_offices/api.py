"""The plugin's JSON API resources (the ``api_blueprints`` hook): the practice's directory of
institutions, and a client's affiliations. They appear in the OpenAPI document beside the core's."""

from __future__ import annotations

from marshmallow import Schema, fields

from crossroads.plugin import ApiBlueprint, api_scope

from .services import affiliations, directory

bp = ApiBlueprint(
    "alumni_offices_api",
    __name__,
    description="Alumni and career offices (plugin alumni_offices): the directory and affiliations.",
)


class InstitutionShape(Schema):
    id = fields.Integer()
    name = fields.String()
    alumni_email = fields.String()
    career_email = fields.String()


class AffiliationShape(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    institution_id = fields.Integer()
    institution = fields.String(attribute="institution.name")
    programme = fields.String()
    year = fields.Integer(allow_none=True)


@bp.route("/institutions", methods=["GET"])
@bp.response(200, InstitutionShape(many=True))
def list_institutions():
    """The practice's directory of institutions (clients choose from it too)."""
    return directory(api_scope())


@bp.route("/clients/<int:client_id>/affiliations", methods=["GET"])
@bp.response(200, AffiliationShape(many=True))
def list_affiliations(client_id: int):
    """The institutions a client studied or worked at."""
    return affiliations(api_scope(), client_id)
