# The netfence image: `netfence run` (the operator) on Node 24, distroless.
#
# - Build stage: compiles the TypeScript and assembles /app with scripts/image-root.sh
#   (production dependencies only, no type declarations or source maps).
# - Final stage: Google's distroless Node.js 24 on Debian 13, `nonroot` variant: no shell, no
#   package manager; runs as 65532:65532; /app is owned by root and not writable, and
#   nothing is written at run time, so it runs with readOnlyRootFilesystem.
# Build: docker build -t netfence .
# Run the CLI: docker run --rm -v "$PWD/examples:/in:ro" netfence render -f /in
# The .github/workflows/e2e.yaml job builds it, reports its size and runs it in kind.
ARG NODE_IMAGE=node:24-trixie-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian13:nonroot

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY bin bin
COPY scripts/image-root.sh scripts/image-root.sh
RUN npx tsc -p tsconfig.build.json && sh scripts/image-root.sh /out

FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /out/app /app
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/netfence.js"]
CMD ["run"]
