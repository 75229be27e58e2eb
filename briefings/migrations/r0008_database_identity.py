"""When this database was created: the search index keeps one copy per database, told apart by it.

An adopted database keeps the time its old `schema_version` table gives, so its index stays valid.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "briefings_0008"
down_revision = "briefings_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    identity = op.create_table(
        "database_identity",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    conn = op.get_bind()
    created = None
    if sa.inspect(conn).has_table("schema_version"):
        created = conn.execute(sa.text("SELECT min(applied_at) FROM schema_version")).scalar()
    if isinstance(created, str):  # SQLite hands back its text form
        created = datetime.fromisoformat(created)
    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(identity, [{"id": 1, "created_at": created or now}])
