# qunbot service image. docker-compose.yml runs it next to Redis 7 with AOF on.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Editable install: templates/ and data/ are read from the source tree next to the code.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY store ./store
COPY templates ./templates
COPY data ./data
COPY config.toml ./config.toml
RUN pip install -e . && useradd --system --home /app qunbot && mkdir -p /app/var && chown qunbot /app/var

USER qunbot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"
ENTRYPOINT ["qunbot"]
CMD ["serve", "--role", "all"]
