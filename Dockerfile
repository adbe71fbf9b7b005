# syntax=docker/dockerfile:1
# One image for the three roles; compose (or your orchestrator) picks the command:
#   migrate: node --import tsx packages/db/src/migrate-cli.ts
#   api:     node --import tsx apps/api/src/main.ts         (the default)
#   worker:  node --import tsx apps/worker/src/main.ts
# There is no build step: the service runs its TypeScript through tsx, which is
# a production dependency for that reason.

ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies only, from the lock file. Manifests first, so this
# layer is rebuilt only when they change.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production \
    SCARF_ANALYTICS=false \
    npm_config_update_notifier=false
COPY package.json package-lock.json ./
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY packages/config/package.json packages/config/
COPY packages/core/package.json packages/core/
COPY packages/db/package.json packages/db/
COPY packages/observability/package.json packages/observability/
COPY packages/queue/package.json packages/queue/
COPY packages/sms/package.json packages/sms/
COPY packages/contract/package.json packages/contract/
# Manifests only for what the service never runs (npm ci wants every workspace of the lock).
COPY packages/client/package.json packages/client/
COPY packages/testkit/package.json packages/testkit/
COPY examples/clinic-app/package.json examples/clinic-app/
# The root's postinstall applies patches/ (patch-package) to what npm ci installed.
COPY patches/ patches/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: passes SIGTERM to node (which drains: in-flight requests, then
# active jobs) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    WORKER_METRICS_PORT=9464
# Owned by root, read-only to the service: the process cannot rewrite its own code.
COPY --from=deps /app ./
COPY tsconfig.json tsconfig.base.json ./
COPY apps/api/src apps/api/src
COPY apps/worker/src apps/worker/src
COPY packages/config/src packages/config/src
COPY packages/contract/src packages/contract/src
COPY packages/core/src packages/core/src
COPY packages/db/src packages/db/src
COPY packages/db/drizzle packages/db/drizzle
COPY packages/observability/src packages/observability/src
COPY packages/queue/src packages/queue/src
COPY packages/sms/src packages/sms/src
COPY packages/client/src packages/client/src
COPY scripts/cli.ts scripts/cli.ts
# The image's own user (uid 1000), not root.
USER node
EXPOSE 3000 9464
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "apps/api/src/main.ts"]
