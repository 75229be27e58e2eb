"""JSON columns for the JSON the core keeps (posts.attributions, summaries.summary).

PostgreSQL converts the text in place (every row was written as JSON text). SQLite keeps JSON as text
whatever the column is declared as, so its tables stay as they are (rebuilding `posts` there would
cascade-delete its aliases).
"""

import sqlalchemy as sa
from alembic import op

revision = "briefings_0009"
down_revision = "briefings_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column in (("posts", "attributions"), ("summaries", "summary")):
        op.alter_column(
            table,
            column,
            type_=sa.JSON(),
            existing_type=sa.Text(),
            existing_nullable=False,
            postgresql_using=f"{column}::json",
        )
