"""A JSON column for subscriptions.sources (the JSON text already there is converted in place).

SQLite keeps JSON as text whatever the column is declared as, so its table stays as it is.
"""

import sqlalchemy as sa
from alembic import op

revision = "bot_0010"
down_revision = "bot_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column(
        "subscriptions",
        "sources",
        type_=sa.JSON(),
        existing_type=sa.Text(),
        existing_nullable=False,
        postgresql_using="sources::json",
    )
