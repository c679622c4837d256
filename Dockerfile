# assistantd in a container: docs/deploy.md says how to build and run it (and which flags code_interpreter's
# bubblewrap sandbox needs inside a container).
FROM python:3.11-slim-bookworm

# bubblewrap: the code_interpreter sandbox; python3-venv: the sandbox's own Python is made from Debian's
# python3 (readable by the sandbox uids); setpriv and prlimit come with util-linux, which the image has.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap python3-venv \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/assistantd
COPY pyproject.toml README.md LICENSE ./
COPY scripts/install scripts/install
COPY src src
# The same install as the README's: assistantd, the local embedding model, the sandbox's venv.
ENV VIRTUAL_ENV=/opt/assistantd/venv PIP_NO_CACHE_DIR=1
RUN python -m venv "$VIRTUAL_ENV" && scripts/install --no-system

ENV PATH="/opt/assistantd/venv/bin:$PATH" \
    ASSISTANTD_HOST=0.0.0.0 \
    ASSISTANTD_PORT=8000 \
    ASSISTANTD_DATA_DIR=/var/lib/assistantd
VOLUME ["/var/lib/assistantd"]
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
ENTRYPOINT ["assistantd"]
CMD ["serve"]
