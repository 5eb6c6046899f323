# pathmarket web / CPU worker / beat image. CPU-only PyTorch (the GPU worker uses docker/Dockerfile.gpu).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 git \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
# torch==2.13.0 resolves to the +cpu wheel from the PyTorch CPU index (no CUDA libraries in this image).
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

COPY . .
ARG CODE_VERSION=unknown
ENV PATHMARKET_CODE_VERSION=${CODE_VERSION}
# Static files are collected at build time and served by whitenoise; the build needs dummy secrets only.
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

RUN useradd --create-home --uid 1000 pathmarket \
 && mkdir -p /data/media \
 && chown -R pathmarket /data /app
USER pathmarket
ENV DJANGO_MEDIA_ROOT=/data/media PATHMARKET_VAR_DIR=/data
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
