# The production image: PostgreSQL and Redis are separate services (docker-compose.yml), so the
# embedded PostgreSQL wheel (the `embedded` extra) is left out.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY application ./application
COPY projections ./projections
COPY interfaces ./interfaces
RUN pip install --no-cache-dir .
RUN useradd --system --no-create-home ledgerflow
USER ledgerflow
EXPOSE 8000
# No curl in the image: the check is a few lines of the standard library.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "interfaces.healthcheck", "http://127.0.0.1:8000/health"]
CMD ["ledgerflow", "serve", "--host", "0.0.0.0", "--port", "8000"]
