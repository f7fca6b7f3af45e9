# The headless worker in a container (README.md "Running on a server", docs/cli.md "Container").
# Built from the npm package, the same tarball `npm install -g` takes:
#   npm run build && npm pack ./packages/cli && docker build -t blobhub-worker .
# The build context needs only this file and blobhub-worker-<version>.tgz (see .dockerignore).
# Agents are not part of the worker package: name the ones to install, e.g.
#   docker build --build-arg AGENT_PACKAGES="@anthropic-ai/claude-code @openai/codex" -t blobhub-worker .
FROM node:20-bookworm-slim

ARG AGENT_PACKAGES=""

# git for the agents' work folders, CA certificates for HTTPS, tini as PID 1 (reaps the agents' children and
# forwards SIGTERM, which the worker answers with a clean stop).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

COPY blobhub-worker-*.tgz /tmp/
# The package has no dependencies, so it installs offline; agents (if named) come from the registry.
RUN npm install -g --offline --no-audit --no-fund /tmp/blobhub-worker-*.tgz \
 && rm /tmp/blobhub-worker-*.tgz \
 && if [ -n "$AGENT_PACKAGES" ]; then npm install -g --no-audit --no-fund $AGENT_PACKAGES; fi \
 && npm cache clean --force

# Never root: the worker and every agent it starts run as this user.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin worker \
 && install -d -o worker -g worker -m 0700 /home/worker/.blobhub-worker
USER worker
WORKDIR /home/worker
ENV BLOBHUB_WORKER_HOME=/home/worker/.blobhub-worker
# The state root (credentials.yaml, config.yaml, section and thread state, logs) outlives the container.
VOLUME ["/home/worker/.blobhub-worker"]

ENTRYPOINT ["/usr/bin/tini", "--", "blobhub-worker"]
CMD ["start"]
