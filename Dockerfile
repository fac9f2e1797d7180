# cvm: one image, every role. `cvm <role>` picks what the container runs.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false && npm install --no-save tsx@4
COPY . .
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
EXPOSE 3000
ENTRYPOINT ["node", "bin/cvm.mjs"]
CMD ["start"]
