# The hub, the certificate service and the edge in one image (docs/DEPLOYMENT.md).
# Stage 1 installs the production dependencies (native addons are built here, with the toolchain);
# stage 2 is the slim runtime: no npm in the process tree, `node` receives the signals itself.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
COPY shared/package.json shared/
COPY certificate-service/package.json certificate-service/
COPY console/package.json console/
COPY hub/package.json hub/
COPY edge/package.json edge/
COPY simulators/package.json simulators/
COPY test/package.json test/
# npm ci ends with the root package's `prepare` (scripts/build-if-stale.mjs --after-install): with no sources
# copied yet it builds nothing; the steps below build once the sources are here.
COPY scripts/build-if-stale.mjs scripts/
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts scripts
COPY shared shared
COPY certificate-service certificate-service
COPY hub hub
COPY edge edge
COPY console console
# The web console (docs/CONSOLE.md) is built here, once; the runtime stage only serves console/dist.
RUN node --import tsx console/scripts/build-if-stale.ts --force
# The entry points are compiled here, once, as `npm ci` compiles them in a checkout (scripts/build.ts, esbuild is a
# production dependency): the containers run plain JavaScript (hub/dist/bin/hub.js …), no TypeScript
# loader at start (docs/BENCHMARKS.md, "Start-up").
RUN node --import tsx scripts/build.ts hub certificate-service edge
RUN rm -rf shared/test certificate-service/test hub/test edge/test

FROM node:20-bookworm-slim
ENV NODE_ENV=production HUB_HTTP_HOST=0.0.0.0 HUB_MQTT_HOST=0.0.0.0 HUB_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
# The launchers write V8's code cache beside the bundles on the first start (scripts/code-cache.ts):
# writable by the runtime user, so a restarted container starts from it.
RUN chown node:node /app/hub/dist/bin /app/certificate-service/dist/bin
USER node
VOLUME /data
EXPOSE 8080 11883 18883 8083
HEALTHCHECK --interval=5s --timeout=3s --retries=5 CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HUB_HTTP_PORT||8080)+'/health').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
# The compiled hub; `command:` in docker-compose.yml names another compiled entry point
# (certificate-service/dist/bin/certificate-service.js).
ENTRYPOINT ["node"]
CMD ["hub/dist/bin/hub.js"]
