# The s3-campaigns image: the CLI, the worker and the local batch engine (one program, several commands).

# The native inventory scanner (native/: Rust, no crates to download), as npm run setup builds it.
FROM rust:1-slim-bookworm AS native
WORKDIR /native
COPY native/Cargo.toml native/Cargo.lock ./
COPY native/src ./src
RUN cargo build --release --locked --offline && cp target/release/libs3c_native.so /s3c-native.node

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=native /s3c-native.node ./native/build/s3c-native.node
COPY package.json ./
COPY bin ./bin
COPY scripts/tools-requirements.txt ./scripts/tools-requirements.txt
USER node
ENTRYPOINT ["node", "bin/s3-campaigns.js"]
CMD ["worker"]
