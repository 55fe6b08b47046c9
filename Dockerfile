FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY exchange_wrapper ./exchange_wrapper
COPY dashboard ./dashboard
COPY settings-sample.json ./
# editable: the service serves dashboard/ from the source tree
RUN pip install --no-cache-dir -e .
RUN useradd --create-home xwrap && mkdir -p /data && chown xwrap /data
USER xwrap
ENV XWRAP_DATABASE_URL=sqlite:////data/xwrap.sqlite \
    XWRAP_SERVER_HOST=0.0.0.0
VOLUME ["/data"]
EXPOSE 8350
# Listening beyond loopback needs an API token: pass XWRAP_TOKENS at run time.
CMD ["xwrap", "serve", "--config", "settings-sample.json"]
