# netfence image (minimal; hardening comes with the release work: distroless, read-only root).
# Build: docker build -t netfence .   Render: docker run --rm -v "$PWD/examples:/in:ro" netfence render -f /in
# The default command is the operator (`netfence run`): in a cluster it uses its ServiceAccount.
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src src
RUN npx tsc -p tsconfig.build.json

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist/src dist/src
COPY bin bin
USER 65532:65532
ENTRYPOINT ["node", "/app/bin/netfence.js"]
CMD ["run"]
