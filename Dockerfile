# One image for the web process and the Celery worker.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# Pango for WeasyPrint, libharfbuzz-subset0 for fast CJK font subsetting (without it WeasyPrint
# silently falls back to fontTools, ~50x slower), Noto CJK SC for the glyphs, gettext for msgfmt.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk fontconfig gettext \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY govcloud_eval ./govcloud_eval
COPY accounts ./accounts
COPY audit ./audit
COPY indicators ./indicators
COPY assessments ./assessments
COPY reports ./reports
COPY demo ./demo
RUN pip install --no-cache-dir .
COPY . .
RUN msgfmt --check -o locale/zh_Hans/LC_MESSAGES/django.mo locale/zh_Hans/LC_MESSAGES/django.po \
 && DEBUG=false SECRET_KEY=build-only-not-secret-0123456789012345678901234567890123 \
    ALLOWED_HOSTS=build.invalid DATABASE_URL=postgres://build@build.invalid/build \
    REDIS_URL=redis://build.invalid PUBLIC_BASE_URL=https://build.invalid \
    STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput \
 && useradd --system --home /app app && mkdir -p /app/var/media /app/var/signing && chown -R app /app/var

USER app
EXPOSE 8000
CMD ["gunicorn", "govcloud_eval.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
