# cvm: one image, every role. `cvm <role>` picks what the container runs (docker-compose.yml), and the
# default `cvm start` runs everything embedded (chDB + the LMDB log in /app/data; mount a volume there).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY .ci/fix-lockfile.mjs .ci/fix-lockfile.mjs
# tsx runs the TypeScript at start-up (there is no build step). It is a devDependency, so it is added on
# its own, at the version the lock file pins, next to the production dependencies.
RUN node .ci/fix-lockfile.mjs \
 && npm ci --omit=dev --no-audit --no-fund \
 && npm install --no-save --omit=dev --no-audit --no-fund \
      "tsx@$(node -p "require('./package-lock.json').packages['node_modules/tsx'].version")" \
 && npm cache clean --force
# .dockerignore keeps the host's node_modules, data and test artifacts out of this copy.
COPY . .
RUN mkdir -p /app/data && chown node:node /app/data
USER node
ENV HOST=0.0.0.0 PORT=3000 CVM_DATA_DIR=/app/data
EXPOSE 3000
# Any role answers /health; compose sets the same probe per service.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/cvm.mjs"]
CMD ["start"]
