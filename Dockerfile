# briefbot: the bot (`run`) or one-off commands; state in a SQLite file on the /data volume (or PostgreSQL
# through BRIEFBOT_DATABASE_URL). The install line is the one scripts/smoke checks in a fresh venv.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    BRIEFBOT_DATABASE_URL=sqlite:////data/briefbot.db

WORKDIR /app
COPY pyproject.toml README.md config.toml ./
COPY briefings ./briefings
COPY adapters ./adapters
COPY bot ./bot
RUN pip install . \
    && useradd --create-home --uid 10001 briefbot \
    && mkdir /data && chown briefbot /data

USER briefbot
VOLUME ["/data"]
# Tokens and keys come from the environment at `docker run -e ...`, never from the image.
ENTRYPOINT ["briefbot", "--config", "/app/config.toml"]
# The long-running bot: digests on schedule; `docker run ... briefbot digest` prints one instead.
CMD ["run"]
