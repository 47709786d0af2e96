"""The plugin's contact source: people found in an association's member directory, and its importer.

Associations export their member directory as a CSV file with the header
``Name,Email,Organisation,Role,Member since``; a client uploads it on the
import page ("Association member directory (CSV)") and each member becomes a
contact whose source is "Professional association directory".
"""

from datetime import date

from crossroads.plugin import (
    ImportedContact,
    Importer,
    ImportRefused,
    ParsedFile,
    Source,
    csv_rows,
    decode_text,
)

DIRECTORY = Source("association_directory", "Professional association directory")
HEADER = ["Name", "Email", "Organisation", "Role", "Member since"]


class MemberDirectoryImporter(Importer):
    """An association's member directory: one member per row, all or nothing."""

    name = "association_directory_csv"
    label = "Association member directory (CSV)"
    source = DIRECTORY.name
    extensions = (".csv",)
    help = "The member directory your association lets members download, with the columns " + ", ".join(
        HEADER
    )

    def recognises(self, data: bytes) -> bool:
        return data.lstrip(b"\xef\xbb\xbf").startswith(",".join(HEADER).encode())

    def parse(self, data: bytes) -> ParsedFile:
        text = decode_text(data, "download the directory again")
        parsed, problems = ParsedFile(), []
        for line, fields in csv_rows(text, HEADER, "member directory"):
            if len(fields) != len(HEADER):
                problems.append((line, f"expected {len(HEADER)} fields, found {len(fields)}"))
                continue
            name, email, organisation, role, since = (f.strip() for f in fields)
            if not name:
                problems.append((line, "a member without a name"))
                continue
            if since and not (since.isdigit() and 1900 <= int(since) <= date.today().year):
                problems.append((line, f"Member since {since!r} is not a year"))
                continue
            parsed.contacts.append(ImportedContact(line, name, email.lower(), None, organisation, role))
        if problems:
            raise ImportRefused(problems)
        return parsed
