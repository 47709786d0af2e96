"""The browser tab shows Crossroads' own icon: an SVG favicon in the static files, linked from the
head of every page (the base template and the plain error page alike)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from flask import render_template

ICON_LINK = re.compile(r'<link rel="icon" href="(/static/favicon\.svg)" type="image/svg\+xml">')


def head(html: str) -> str:
    return html.split("<head>", 1)[1].split("</head>", 1)[0]


def test_every_page_links_the_svg_favicon_in_its_head(http):
    page = http.get("/login")
    assert page.status_code == 200
    assert ICON_LINK.search(head(page.get_data(as_text=True)))


def test_the_plain_error_page_links_it_too(app):
    with app.test_request_context("/"):
        html = render_template("error_plain.html", title="Something went wrong", message="")
    assert ICON_LINK.search(head(html))


def test_the_favicon_is_served_as_an_svg_picture(http):
    icon = http.get("/static/favicon.svg")
    data = icon.data
    icon.close()  # a static file is sent from an open file
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    root = ET.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 32 32"
