# Image for the docker, kubernetes and ecs runners of the candlelake Airflow DAGs.
# Airflow itself is not in the image: the worker starts this container with
# `download-bulk ...` as its command (see docs/airflow.md, "Runners and the image").
#   docker build -t candlelake:latest .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Install the locked dependency versions (uv.lock, without the airflow extra), then the package.
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
RUN pip install uv \
    && uv export --frozen --no-dev --no-emit-project --format requirements-txt -o /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && pip install --no-deps . \
    && pip uninstall -y uv \
    && rm -rf /src /tmp/requirements.txt

# Never run downloads as root.
RUN useradd --create-home --uid 10001 candlelake
USER candlelake
WORKDIR /home/candlelake

ENTRYPOINT ["candlelake"]
CMD ["--help"]
