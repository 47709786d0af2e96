"""Email: composing messages, the outbox written in the database, and delivery over SMTP.

Modules: :mod:`.secrets` (passwords encrypted at rest), :mod:`.compose`
(headers and body), :mod:`.smtp` (one delivery, every outcome classified),
:mod:`.outbox` (queue, claim, record, retry) and :mod:`.queue` (the Huey
background worker that wakes the outbox up).
"""
