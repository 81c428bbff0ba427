# syntax=docker/dockerfile:1
#
# The Gatehouse image. Node 24 runs the TypeScript sources directly (type stripping): there is no
# build step, so the image holds the sources of the workspaces that run, at their repository paths,
# and the production dependencies only.
#
#   docker build -t gatehouse:local .
#   docker run --rm -p 127.0.0.1:4000:4000 -e NODE_ENV=development gatehouse:local
#
# Production mode (the default here) refuses to start without real secrets, keys and accounts:
# see docs/deploy.md. One image, one component per container: the CMD runs the token service; every
# other component runs from this same image with its own command (compose.yaml, k8s/):
#   node gateway/src/main.ts              API gateway + browser UI (services/ui/public)   8080
#   node services/sales/src/main.ts       sales API, outbox relay to Kafka                4100
#   node services/shipping/src/main.ts    shipping consumer + read API                    4200
#   node services/invoicing/src/main.ts   invoicing consumer + read API                   4300
# e.g. docker run --rm -p 127.0.0.1:8080:8080 -e NODE_ENV=development gatehouse:local node gateway/src/main.ts
#
# Pin the base by digest for reproducible builds, e.g.
#   docker build --build-arg NODE_IMAGE=node:24-slim@sha256:<digest> .
ARG NODE_IMAGE=node:24-slim

# ---------------------------------------------------------------------------------------------
# deps: production dependencies from package-lock.json.
# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production

# npm ci needs every workspace's package.json to lay out node_modules (workspaces are linked as
# node_modules/@gatehouse/<name> -> ../../<folder>). Only the manifests are copied here, so that a
# source change does not re-run the install.
COPY package.json package-lock.json ./
COPY packages/config/package.json packages/config/
COPY packages/deny-list/package.json packages/deny-list/
COPY packages/fastify-ops/package.json packages/fastify-ops/
COPY packages/service-http/package.json packages/service-http/
COPY packages/observability/package.json packages/observability/
COPY packages/validator/package.json packages/validator/
COPY keys/package.json keys/
COPY token-service/package.json token-service/
COPY gateway/package.json gateway/
COPY packages/events/package.json packages/events/
COPY packages/event-bus/package.json packages/event-bus/
COPY packages/sql/package.json packages/sql/
COPY services/consumer/package.json services/consumer/
COPY services/sales/package.json services/sales/
COPY services/shipping/package.json services/shipping/
COPY services/invoicing/package.json services/invoicing/
COPY services/ui/package.json services/ui/
# Every workspace in the root package.json's "workspaces" needs its manifest here, or npm ci fails
# on the lock file: a new workspace means a new line (deploy/test/image.test.ts checks the list).

# --omit=dev: the root devDependencies (the `node` binary package, tap, typescript, eslint...) stay
# out. --ignore-scripts: no production dependency needs an install script today (@node-rs/argon2
# ships prebuilt binaries as optional packages; kafkajs and pg are plain JavaScript; PGlite, the
# embedded development database, ships WebAssembly); drop it if one ever does.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

# Defaults for a container; every one is overridable at run time (compose.yaml, k8s/).
#   TOKEN_SERVICE_HOST / GATEWAY_HOST / SALES_HOST / SHIPPING_HOST / INVOICING_HOST  the components'
#     own default is 127.0.0.1, unreachable from outside a container. Each component reads only its
#     own names, so all of them can be present. (Compose sets the services back to 127.0.0.1: they
#     share the token service's network namespace there.)
#   KEYSTORE_PATH / CLIENT_KEYS_DIR  under /var/lib/gatehouse, the one writable place in the image
#     (development mode generates its dev keys there; production mounts them read-only instead).
#   AUDIT_LOG=stderr  the audit stream goes to stderr, the application log to stdout (docs/deploy.md);
#     every component reads it (their own defaults, files under .gatehouse/, are not writable here).
ENV NODE_ENV=production \
    TOKEN_SERVICE_HOST=0.0.0.0 \
    TOKEN_SERVICE_PORT=4000 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8080 \
    SALES_HOST=0.0.0.0 \
    SHIPPING_HOST=0.0.0.0 \
    INVOICING_HOST=0.0.0.0 \
    KEYSTORE_PATH=/var/lib/gatehouse/keys/keystore.json \
    CLIENT_KEYS_DIR=/var/lib/gatehouse/clients \
    AUDIT_LOG=stderr

WORKDIR /app

# The runtime user owns nothing but its data folder: code and dependencies are root's, read-only.
# clients/ exists in the image so that a volume mounted there (compose: dev-client-keys) starts out
# owned by the runtime user, as a new volume takes the ownership of the directory it covers.
RUN mkdir -p /var/lib/gatehouse/clients \
 && chown -R node:node /var/lib/gatehouse \
 && chmod -R 0700 /var/lib/gatehouse

COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
# What runs, at its repository path: Node refuses to strip types from files under node_modules,
# and the workspace links in node_modules resolve (by realpath) to these folders.
COPY packages/ packages/
COPY keys/ keys/
COPY token-service/ token-service/
# The gateway, with its development route table (gateway/routes.dev.json, its default ROUTES_FILE;
# production refuses it and mounts its own table, k8s/gateway.yaml).
COPY gateway/ gateway/
# The services (services/consumer is the consumers' shared runtime) and the browser UI the gateway
# serves (services/ui/public, its default UI directory).
COPY services/ services/

# 1000:1000 is the official image's `node` user, given numerically so that Kubernetes'
# runAsNonRoot can verify it.
USER 1000:1000

EXPOSE 4000 8080 4100 4200 4300

# No curl in the slim image: Node's own fetch. Liveness only (/healthz); readiness (/readyz: Redis
# and the signing key for the token service, the JWKS for the gateway, database and Kafka for the
# services) is for orchestrators to gate traffic on. The image does not know which component a
# container runs, so the check passes when any component's /healthz answers on its port (a
# container runs one of them; in compose several share one network namespace, which is why compose
# overrides this check with each one's /readyz).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const e = process.env; const c = (p) => fetch('http://127.0.0.1:' + p + '/healthz', { signal: AbortSignal.timeout(2500) }).then((r) => (r.ok ? r : Promise.reject(r))); Promise.any([e.TOKEN_SERVICE_PORT || 4000, e.GATEWAY_PORT || 8080, e.SALES_PORT || 4100, e.SHIPPING_PORT || 4200, e.INVOICING_PORT || 4300].map(c)).then(() => process.exit(0), () => process.exit(1))"]

# SIGTERM (the default stop signal) runs the component's own shutdown: server, Redis, database,
# Kafka clients, audit log. The default command is the token service; the others override it.
CMD ["node", "token-service/src/main.ts"]
