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
CMD ["ledgerflow", "serve", "--host", "0.0.0.0", "--port", "8000"]
